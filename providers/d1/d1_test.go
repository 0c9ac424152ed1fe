package d1

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func newTestBackend(t *testing.T) (*Backend, *wiretest.Cloudflare) {
	t.Helper()
	cf := wiretest.NewCloudflare(t)
	b, err := newBackend(providers.DatabaseBackendConfig{
		Account:    &providers.CloudflareAccount{ID: cf.Account(), Token: cf.Token(), BaseURL: cf.APIBase()},
		HTTPClient: cf.Server.Client(),
		Retry:      providers.RetryPolicy{Attempts: 3, Backoff: 1, MaxBackoff: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b, cf
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	b, cf := newTestBackend(t)
	spec := providers.DatabaseSpec{Name: "kb", Backend: "d1"}
	if _, ok, err := b.Describe(ctx, spec); ok || err != nil {
		t.Fatalf("Describe before create = %v, %v", ok, err)
	}
	info, err := b.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID == "" || info.Name != "kb" {
		t.Fatalf("Create = %+v", info)
	}
	byName, ok, err := b.Describe(ctx, spec)
	if err != nil || !ok || byName.ID != info.ID {
		t.Errorf("Describe by name = %+v, %v, %v", byName, ok, err)
	}
	spec.ID = info.ID
	db, err := b.Open(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(ctx, "CREATE TABLE a (x);\nCREATE TABLE b (y);"); err != nil {
		t.Fatal(err)
	}
	got, ok, err := b.Describe(ctx, spec)
	if err != nil || !ok || got.Tables != 2 {
		t.Errorf("Describe by id = %+v, %v, %v", got, ok, err)
	}
	if _, err := b.Create(ctx, providers.DatabaseSpec{Name: "kb"}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate Create: %v", err)
	}
	if err := b.Delete(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.Describe(ctx, spec); ok || err != nil {
		t.Errorf("Describe after delete = %v, %v", ok, err)
	}
	if err := b.Delete(ctx, spec); err != nil {
		t.Errorf("deleting a missing database: %v", err)
	}
	if n := len(cf.D1().Databases()); n != 0 {
		t.Errorf("%d databases left", n)
	}
}

func newTestDB(t *testing.T) (providers.Database, *wiretest.Cloudflare) {
	t.Helper()
	ctx := context.Background()
	b, cf := newTestBackend(t)
	info, err := b.Create(ctx, providers.DatabaseSpec{Name: "db"})
	if err != nil {
		t.Fatal(err)
	}
	db, err := b.Open(ctx, providers.DatabaseSpec{Name: "db", ID: info.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(ctx, `CREATE TABLE chunks (id INTEGER PRIMARY KEY, source TEXT, text TEXT, score REAL)`); err != nil {
		t.Fatal(err)
	}
	return db, cf
}

func TestQuery(t *testing.T) {
	ctx := context.Background()
	db, _ := newTestDB(t)
	tests := []struct {
		name   string
		sql    string
		params []any
		want   providers.QueryResult
	}{
		{"insert", `INSERT INTO chunks (source, text, score) VALUES (?, ?, ?)`, []any{"a.md", "first", 0.5},
			providers.QueryResult{Columns: []string{}, Rows: [][]any{}, Changes: 1, LastRowID: 1}},
		{"numbered", `INSERT INTO chunks (text, source, score) VALUES (?2, ?1, ?3)`, []any{"b.md", "second", 2},
			providers.QueryResult{Columns: []string{}, Rows: [][]any{}, Changes: 1, LastRowID: 2}},
		{"select keeps column order", `SELECT text, id, score, source FROM chunks ORDER BY id`, nil,
			providers.QueryResult{Columns: []string{"text", "id", "score", "source"}, Rows: [][]any{{"first", int64(1), 0.5, "a.md"}, {"second", int64(2), int64(2), "b.md"}}}},
		// Params travel as strings (d1_params), so a bare ? gives text back...
		{"bool and json params", `SELECT ? AS b, ? AS j`, []any{true, map[string]any{"k": 1}},
			providers.QueryResult{Columns: []string{"b", "j"}, Rows: [][]any{{"1", `{"k":1}`}}}},
		// ...while a numeric column's affinity turns them back into numbers.
		{"numbers compare with numeric columns", `SELECT id, score FROM chunks WHERE id = ? AND score < ?`, []any{2, 2.5},
			providers.QueryResult{Columns: []string{"id", "score"}, Rows: [][]any{{int64(2), int64(2)}}}},
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

// TestParamsAreStrings replays the published shape of a query body: Cloudflare's OpenAPI
// (cloudflare/api-schemas openapi.json, components.schemas "d1_params": {"type": "array",
// "items": {"type": "string"}}) and cloudflare-go's d1.DatabaseRawParamsBodyD1SingleQuery
// (Params []string).
func TestParamsAreStrings(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		params []any
		want   []any
	}{
		{"string", []any{"a.md"}, []any{"a.md"}},
		{"integers", []any{2, int64(-7), int32(3)}, []any{"2", "-7", "3"}},
		{"floats", []any{0.5, 1e21, float32(0.25)}, []any{"0.5", "1e+21", "0.25"}},
		{"bool", []any{true, false}, []any{"1", "0"}},
		{"json", []any{map[string]any{"k": 1}, []any{"x"}}, []any{`{"k":1}`, `["x"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, cf := newTestDB(t)
			sql := "SELECT ?" + strings.Repeat(", ?", len(tt.params)-1)
			if _, err := db.Query(ctx, sql, tt.params); err != nil {
				t.Fatal(err)
			}
			reqs := cf.Requests()
			var body struct {
				Params []any `json:"params"`
			}
			if err := json.Unmarshal(reqs[len(reqs)-1].Body, &body); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, body.Params); diff != "" {
				t.Errorf("params sent (-want +got):\n%s", diff)
			}
		})
	}
	refused := []struct {
		name  string
		param any
		want  string
	}{
		{"null", nil, "cannot bind NULL; write NULL in the SQL"},
		{"nan", math.NaN(), "no literal for NaN"},
		{"inf", math.Inf(1), "no literal for +Inf"},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			db, cf := newTestDB(t)
			before := len(cf.Requests())
			_, err := db.Query(ctx, `SELECT ?`, []any{tt.param})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
			if n := len(cf.Requests()) - before; n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	db, cf := newTestDB(t)
	t.Run("bad sql is not retried", func(t *testing.T) {
		before := cf.Count()
		_, err := db.Query(ctx, `SELECT * FROM nope`, nil)
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Status != 400 || pe.Code != "7500" || pe.Retryable || !strings.Contains(err.Error(), "no such table: nope: SQLITE_ERROR") {
			t.Fatalf("error = %v", err)
		}
		if n := cf.Count() - before; n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})
	t.Run("internal error is retried", func(t *testing.T) {
		cf.Faults.Add(wiretest.Fault{Status: http.StatusInternalServerError, Code: "7500", Message: "internal error; reference = x", Times: 2})
		before := cf.Count()
		if _, err := db.Query(ctx, `SELECT 1`, nil); err != nil {
			t.Fatal(err)
		}
		if n := cf.Count() - before; n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})
	t.Run("too many params fail before a request", func(t *testing.T) {
		before := cf.Count()
		_, err := db.Query(ctx, `SELECT 1`, make([]any, 101))
		if err == nil || cf.Count() != before {
			t.Errorf("error = %v, requests = %d", err, cf.Count()-before)
		}
	})
	t.Run("blob params are refused", func(t *testing.T) {
		if _, err := db.Query(ctx, `SELECT ?`, []any{[]byte{1}}); err == nil || !strings.Contains(err.Error(), "BLOB") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("wrong token is not leaked", func(t *testing.T) {
		b, err := newBackend(providers.DatabaseBackendConfig{
			Account:    &providers.CloudflareAccount{ID: cf.Account(), Token: "secret-token-value-123", BaseURL: cf.APIBase()},
			HTTPClient: cf.Server.Client(),
		})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = b.Describe(ctx, providers.DatabaseSpec{Name: "db", ID: "x"})
		if err == nil || strings.Contains(err.Error(), "secret-token-value-123") || !strings.Contains(err.Error(), "401") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("no account", func(t *testing.T) {
		if _, err := New(providers.DatabaseBackendConfig{}); err == nil || !strings.Contains(err.Error(), "workers-ai provider") {
			t.Errorf("error = %v", err)
		}
	})
}

// TestExecIsAtomic: a script is one transaction, as on D1, so a migration and the
// insert of its record take effect together or not at all.
func TestExecIsAtomic(t *testing.T) {
	ctx := context.Background()
	db, _ := newTestDB(t)
	err := db.Exec(ctx, "INSERT INTO chunks (text) VALUES ('record');\nCREATE TABLE a (x);\nINSERT INTO missing VALUES (1);")
	if err == nil || !strings.Contains(err.Error(), "no such table: missing") {
		t.Fatalf("Exec = %v", err)
	}
	res, err := db.Query(ctx, `SELECT (SELECT count(*) FROM chunks), (SELECT count(*) FROM sqlite_master WHERE name = 'a')`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]any{{int64(0), int64(0)}}, res.Rows); diff != "" {
		t.Errorf("after a failed script (-want +got):\n%s", diff)
	}
}
