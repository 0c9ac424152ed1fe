package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
)

func newDB(t *testing.T) (providers.DatabaseBackend, providers.Database, providers.DatabaseSpec) {
	t.Helper()
	b, err := newBackend(providers.DatabaseBackendConfig{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	spec := providers.DatabaseSpec{Name: "db", Backend: "local"}
	ctx := context.Background()
	if _, err := b.Create(ctx, spec); err != nil {
		t.Fatal(err)
	}
	db, err := b.Open(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Exec(ctx, `CREATE TABLE chunks (id INTEGER PRIMARY KEY, source TEXT, text TEXT, score REAL, data BLOB);`); err != nil {
		t.Fatal(err)
	}
	return b, db, spec
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	b, db, spec := newDB(t)
	info, ok, err := b.Describe(ctx, spec)
	if err != nil || !ok {
		t.Fatalf("Describe = %v, %v", ok, err)
	}
	if info.Tables != 1 || info.Name != "db" || !strings.HasSuffix(info.ID, "databases/db.db") {
		t.Errorf("Describe = %+v", info)
	}
	db.Close()
	if err := b.Delete(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.Describe(ctx, spec); ok || err != nil {
		t.Errorf("after Delete: Describe = %v, %v", ok, err)
	}
	if _, err := b.Open(ctx, spec); err == nil || !strings.Contains(err.Error(), "run aiflow apply") {
		t.Errorf("Open of a deleted database: %v", err)
	}
	if err := b.Delete(ctx, spec); err != nil {
		t.Errorf("deleting a missing database: %v", err)
	}
	if _, err := b.Create(ctx, providers.DatabaseSpec{Name: "../x"}); err == nil {
		t.Error("Create accepted a path as a name")
	}
}

func TestQuery(t *testing.T) {
	ctx := context.Background()
	_, db, _ := newDB(t)
	tests := []struct {
		name   string
		sql    string
		params []any
		want   providers.QueryResult
	}{
		{"insert", `INSERT INTO chunks (source, text, score) VALUES (?, ?, ?)`, []any{"a.md", "first", 0.5},
			providers.QueryResult{Columns: []string{}, Rows: [][]any{}, Changes: 1, LastRowID: 1}},
		{"numbered params", `INSERT INTO chunks (text, source, data) VALUES (?2, ?1, ?3)`, []any{"b.md", "second", []any{1, 2}},
			providers.QueryResult{Columns: []string{}, Rows: [][]any{}, Changes: 1, LastRowID: 2}},
		{"select", `SELECT id, source, text, score FROM chunks WHERE source = ? ORDER BY id`, []any{"a.md"},
			providers.QueryResult{Columns: []string{"id", "source", "text", "score"}, Rows: [][]any{{int64(1), "a.md", "first", 0.5}}}},
		{"json param", `SELECT data FROM chunks WHERE id = ?`, []any{2},
			providers.QueryResult{Columns: []string{"data"}, Rows: [][]any{{"[1,2]"}}}},
		{"bool param", `SELECT ? AS t, ? AS f`, []any{true, false},
			providers.QueryResult{Columns: []string{"t", "f"}, Rows: [][]any{{int64(1), int64(0)}}}},
		{"update", `UPDATE chunks SET score = 1`, nil,
			providers.QueryResult{Columns: []string{}, Rows: [][]any{}, Changes: 2, LastRowID: 2}},
		{"select after update", `SELECT count(*) AS n FROM chunks`, nil,
			providers.QueryResult{Columns: []string{"n"}, Rows: [][]any{{int64(2)}}}},
		{"returning", `DELETE FROM chunks WHERE id = ? RETURNING text`, []any{1},
			providers.QueryResult{Columns: []string{"text"}, Rows: [][]any{{"first"}}, Changes: 1, LastRowID: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Query(ctx, tt.sql, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Query (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	ctx := context.Background()
	_, db, _ := newDB(t)
	many := make([]any, providers.MaxQueryParams+1)
	tests := []struct {
		name, sql string
		params    []any
		want      string
	}{
		{"no such table", `SELECT * FROM nope`, nil, `database "db": no such table: nope`},
		{"syntax", `SELEC 1`, nil, `database "db": near "SELEC": syntax error`},
		{"too many params", `SELECT 1`, many, "101 bound parameters; at most 100"},
		{"unbindable", `SELECT ?`, []any{struct{}{}}, "parameter 1: cannot bind a struct {}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.Query(ctx, tt.sql, tt.params)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestExecIsAtomic(t *testing.T) {
	ctx := context.Background()
	_, db, _ := newDB(t)
	err := db.Exec(ctx, `CREATE TABLE a (x); INSERT INTO a VALUES (1); INSERT INTO missing VALUES (2);`)
	if err == nil || !strings.Contains(err.Error(), "no such table: missing") {
		t.Fatalf("Exec = %v", err)
	}
	res, err := db.Query(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'a'`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != int64(0) {
		t.Errorf("table a exists after a failed script")
	}
}

func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	_, db, _ := newDB(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.Query(ctx, `INSERT INTO chunks (source, text) VALUES (?, ?)`, []any{fmt.Sprint(i % 4), "t"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	res, err := db.Query(ctx, `SELECT count(*) FROM chunks`, nil)
	if err != nil || res.Rows[0][0] != int64(40) {
		t.Fatalf("count = %v, %v", res.Rows, err)
	}
}

// TestDescribeAfterCrash: a process killed while it wrote the database (here, before
// the file was in WAL mode) leaves a hot rollback journal; the next Describe and Open
// must roll it back rather than fail with "attempt to write a readonly database".
func TestDescribeAfterCrash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := Path(dir, "db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := sql.Open("sqlite", "file:"+path+"?_journal_mode=DELETE")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	for _, q := range []string{`CREATE TABLE t (x)`, `INSERT INTO t VALUES (zeroblob(100000))`, `PRAGMA cache_size = 1`, `BEGIN`, `UPDATE t SET x = zeroblob(200000)`} {
		if _, err := w.ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	// Copy the files in the middle of the transaction: what a kill -9 leaves.
	crashed := t.TempDir()
	if err := os.MkdirAll(filepath.Join(crashed, "databases"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-journal"} {
		data, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(Path(crashed, "db")+suffix, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	after, err := newBackend(providers.DatabaseBackendConfig{StateDir: crashed})
	if err != nil {
		t.Fatal(err)
	}
	spec := providers.DatabaseSpec{Name: "db", Backend: "local"}
	info, ok, err := after.Describe(ctx, spec)
	if err != nil || !ok || info.Tables != 1 {
		t.Fatalf("Describe after a crash = %+v, %v, %v", info, ok, err)
	}
	db, err := after.Open(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Query(ctx, `SELECT length(x) FROM t`, nil)
	if err != nil || len(res.Rows) != 1 || res.Rows[0][0] != int64(100000) {
		t.Fatalf("rows after a crash = %v, %v; want the committed row", res.Rows, err)
	}
}
