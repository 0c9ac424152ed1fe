package query

import (
	"context"
	"strconv"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

// BenchmarkQueryLocal measures one query step call on the local backend: an INSERT of one
// row and a SELECT of 10 rows by source.
func BenchmarkQueryLocal(b *testing.B) {
	info, _ := providers.LookupDatabaseBackend("local")
	be, err := info.New(providers.DatabaseBackendConfig{StateDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := be.Create(ctx, providers.DatabaseSpec{Name: "db"}); err != nil {
		b.Fatal(err)
	}
	db, err := be.Open(ctx, providers.DatabaseSpec{Name: "db"})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Exec(ctx, "CREATE TABLE chunks (id INTEGER PRIMARY KEY, source TEXT, text TEXT); CREATE INDEX chunks_source ON chunks (source)"); err != nil {
		b.Fatal(err)
	}
	env := dbEnv{name: "db", db: db}
	ref := steps.ResourceRef{Name: "db", Kind: "database"}
	call := func(sql string, params ...any) {
		_, err := querier{}.Run(ctx, &steps.Call{Inputs: map[string]any{"database": ref, "sql": sql, "params": params}, Env: env})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Run("insert", func(b *testing.B) {
		for i := range b.N {
			call("INSERT INTO chunks (source, text) VALUES (?, ?)", strconv.Itoa(i%100), "some chunk text")
		}
	})
	for i := range 1000 {
		call("INSERT INTO chunks (source, text) VALUES (?, ?)", strconv.Itoa(i%100), "some chunk text")
	}
	b.Run("select", func(b *testing.B) {
		for i := range b.N {
			call("SELECT id, text FROM chunks WHERE source = ? LIMIT 10", strconv.Itoa(i%100))
		}
	})
}
