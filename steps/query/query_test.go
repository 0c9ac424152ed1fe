package query

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/d1"
	_ "github.com/aiflow/aiflow/providers/sqlitedb"
	"github.com/aiflow/aiflow/providers/wiretest"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// dbEnv is a steps.Env that can open one database.
type dbEnv struct {
	steps.Env // nil: the query step calls nothing else
	name      string
	db        providers.Database
}

func (e dbEnv) Database(_ context.Context, name string) (providers.Database, error) {
	if name != e.name {
		return nil, fmt.Errorf("unknown database %q", name)
	}
	return e.db, nil
}

// backends opens an empty database "db" on each backend.
func backends(t *testing.T) map[string]providers.Database {
	t.Helper()
	ctx := context.Background()
	info, _ := providers.LookupDatabaseBackend("local")
	local, err := info.New(providers.DatabaseBackendConfig{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cf := wiretest.NewCloudflare(t)
	remote, err := d1.New(providers.DatabaseBackendConfig{Account: &providers.CloudflareAccount{ID: cf.Account(), Token: cf.Token(), BaseURL: cf.APIBase()},
		HTTPClient: cf.Server.Client()})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]providers.Database{}
	for name, b := range map[string]providers.DatabaseBackend{"local": local, "d1": remote} {
		created, err := b.Create(ctx, providers.DatabaseSpec{Name: "db"})
		if err != nil {
			t.Fatal(err)
		}
		db, err := b.Open(ctx, providers.DatabaseSpec{Name: "db", ID: created.ID})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Exec(ctx, "CREATE TABLE chunks (id INTEGER PRIMARY KEY, source TEXT, text TEXT, meta TEXT)"); err != nil {
			t.Fatal(err)
		}
		out[name] = db
	}
	return out
}

func run(t *testing.T, db providers.Database, in map[string]any) (map[string]any, error) {
	t.Helper()
	in["database"] = steps.ResourceRef{Name: "db", Kind: "database"}
	call := &steps.Call{StepID: "q", Item: -1, Inputs: in, Env: dbEnv{name: "db", db: db}}
	res, err := querier{}.Run(context.Background(), call)
	return res.Output, err
}

// insertNull inserts two rows, the second with a NULL meta: bound as nil locally, but
// written in the SQL for D1, whose REST API takes parameters as strings only (see
// providers/d1 bindParams) and so refuses a nil.
func insertNull(backend string) map[string]any {
	if backend == "d1" {
		return map[string]any{"sql": "INSERT INTO chunks (source, text, meta) VALUES (?, ?, ?), (?, ?, NULL)",
			"params": []any{"a.md", "one", map[string]any{"page": 1}, "b.md", "two"}}
	}
	return map[string]any{"sql": "INSERT INTO chunks (source, text, meta) VALUES (?, ?, ?), (?, ?, ?)",
		"params": []any{"a.md", "one", map[string]any{"page": 1}, "b.md", "two", nil}}
}

func TestQuery(t *testing.T) {
	for backend, db := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			tests := []struct {
				name string
				in   map[string]any
				want map[string]any
			}{
				{"insert", insertNull(backend),
					map[string]any{"rows": []any{}, "columns": []any{}, "count": 0, "changes": 2}},
				{"select", map[string]any{"sql": "SELECT id, text, meta FROM chunks WHERE source = ?1 OR source = ?2 ORDER BY id", "params": []any{"a.md", "b.md"}},
					map[string]any{"rows": []any{map[string]any{"id": 1, "text": "one", "meta": `{"page":1}`}, map[string]any{"id": 2, "text": "two", "meta": nil}},
						"columns": []any{"id", "text", "meta"}, "count": 2, "changes": 0}},
				{"no params", map[string]any{"sql": "SELECT count(*) AS n FROM chunks"},
					map[string]any{"rows": []any{map[string]any{"n": 2}}, "columns": []any{"n"}, "count": 1, "changes": 0}},
				{"delete", map[string]any{"sql": "DELETE FROM chunks WHERE source = ?", "params": []any{"b.md"}},
					map[string]any{"rows": []any{}, "columns": []any{}, "count": 0, "changes": 1}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, err := run(t, db, tt.in)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(tt.want, got); diff != "" {
						t.Errorf("output (-want +got):\n%s", diff)
					}
				})
			}
			t.Run("bad sql", func(t *testing.T) {
				_, err := run(t, db, map[string]any{"sql": "SELECT * FROM nope"})
				if err == nil || !strings.Contains(err.Error(), "no such table: nope") {
					t.Errorf("error = %v", err)
				}
			})
			t.Run("too many params", func(t *testing.T) {
				_, err := run(t, db, map[string]any{"sql": "SELECT 1", "params": make([]any, 101)})
				if err == nil || !strings.Contains(err.Error(), "at most 100") {
					t.Errorf("error = %v", err)
				}
			})
		})
	}
}

func TestRunErrors(t *testing.T) {
	call := &steps.Call{Inputs: map[string]any{"database": steps.ResourceRef{Name: "kb", Kind: "vector-index"}, "sql": "SELECT 1"}}
	if _, err := (querier{}).Run(context.Background(), call); err == nil || !strings.Contains(err.Error(), "not a database") {
		t.Errorf("index as database: %v", err)
	}
	call.Inputs["database"] = steps.ResourceRef{Name: "db", Kind: "database"}
	call.Env = struct{ steps.Env }{}
	if _, err := (querier{}).Run(context.Background(), call); err == nil || !strings.Contains(err.Error(), "cannot open database resources") {
		t.Errorf("env without Database: %v", err)
	}
}

func TestNewRejectsEmptySQL(t *testing.T) {
	f, diags := spec.Parse("f.yaml", []byte("aiflow: 1\nsteps:\n  q:\n    uses: query\n    with:\n      sql: \"  \"\n"))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	_, diags = newQuery(f.Steps[0])
	if len(diags) != 1 || diags[0].Summary != "empty sql" || diags[0].Pos.Line != 6 {
		t.Errorf("diags = %v", diags)
	}
}

// TestQueryRunsOneStatement is the run-time half of the SQL injection fix: a sql that
// holds a second statement is refused before anything runs, on both backends, while
// semicolons inside strings, identifiers and comments, and a trailing one, are fine.
func TestQueryRunsOneStatement(t *testing.T) {
	for backend, db := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			refused := []string{
				"SELECT count(*) FROM chunks; DROP TABLE chunks",
				"SELECT 1;DROP TABLE chunks;",
				"SELECT 1; -- a comment\nDROP TABLE chunks",
				"SELECT 1 /* ; */; DELETE FROM chunks",
				"SELECT ';'; DROP TABLE chunks",
				"SELECT 1;\n'x'",
			}
			for _, sql := range refused {
				_, err := run(t, db, map[string]any{"sql": sql})
				if err == nil || !strings.Contains(err.Error(), "more than one SQL statement") {
					t.Errorf("%q: error = %v, want it refused as more than one statement", sql, err)
				}
			}
			if _, err := run(t, db, map[string]any{"sql": "SELECT count(*) FROM chunks"}); err != nil {
				t.Fatalf("the table is gone after the refused statements: %v", err)
			}
			accepted := []string{
				"SELECT count(*) AS n FROM chunks;",
				"SELECT 'a;b' AS n;  -- trailing comment; with a semicolon",
				"SELECT \"x;y\" FROM (SELECT 1 AS \"x;y\") /* ; */ ;;",
				"SELECT [a;b] FROM (SELECT 2 AS [a;b])",
			}
			for _, sql := range accepted {
				if _, err := run(t, db, map[string]any{"sql": sql}); err != nil {
					t.Errorf("%q: %v", sql, err)
				}
			}
		})
	}
}
