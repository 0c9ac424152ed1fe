package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResourceCRUD(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	idx := ResourceState{Flow: "f", Name: "docs", Kind: "vector-index", Backend: "vectorize", ID: "uuid-1",
		Attributes: map[string]any{"dimensions": 768.0, "metric": "cosine"}, UpdatedAt: t0}
	db := ResourceState{Flow: "f", Name: "app", Kind: "database", Backend: "d1", ID: "d1-9", UpdatedAt: t0}
	for _, r := range []ResourceState{idx, db} {
		if err := s.PutResource(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetResource(ctx, "f", "docs")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(idx, got); diff != "" {
		t.Errorf("GetResource (-want +got):\n%s", diff)
	}

	idx.ID, idx.Attributes = "uuid-2", map[string]any{"dimensions": 1024.0}
	if err := s.PutResource(ctx, idx); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ResourceState{db, idx}, all); diff != "" {
		t.Errorf("ListResources after update (-want +got):\n%s", diff)
	}

	if err := s.DeleteResource(ctx, "f", "docs"); err != nil {
		t.Fatal(err)
	}
	errs := []struct {
		name string
		do   func() error
		want error
	}{
		{"get deleted", func() error { _, err := s.GetResource(ctx, "f", "docs"); return err }, ErrNotFound},
		{"delete twice", func() error { return s.DeleteResource(ctx, "f", "docs") }, ErrNotFound},
		{"empty name", func() error { return s.PutResource(ctx, ResourceState{Kind: "database"}) }, ErrInvalid},
		{"empty kind", func() error { return s.PutResource(ctx, ResourceState{Flow: "f", Name: "x"}) }, ErrInvalid},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.PutResource(ctx, ResourceState{Flow: "f", Name: "app", Kind: "database"}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name                    string
		resource, mig, checksum string
		want                    error
	}{
		{"first", "app", "002_users.sql", "c2", nil},
		{"second", "app", "001_init.sql", "c1", nil},
		{"again, same checksum", "app", "002_users.sql", "c2", nil},
		{"edited after apply", "app", "002_users.sql", "c2-edited", ErrConflict},
		{"other resource", "other", "001_init.sql", "x", nil},
		{"empty checksum", "app", "003.sql", "", ErrInvalid},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := s.RecordMigration(ctx, "f", st.resource, st.mig, st.checksum); !errors.Is(err, st.want) {
				t.Fatalf("err = %v, want %v", err, st.want)
			}
		})
	}
	got, err := s.AppliedMigrations(ctx, "f", "app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"002_users.sql", "001_init.sql"}, got); diff != "" {
		t.Errorf("AppliedMigrations keeps record order (-want +got):\n%s", diff)
	}
	if sum, err := s.MigrationChecksum(ctx, "f", "app", "002_users.sql"); err != nil || sum != "c2" {
		t.Errorf("MigrationChecksum = %q, %v; want c2", sum, err)
	}
	if _, err := s.MigrationChecksum(ctx, "f", "app", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("MigrationChecksum(missing): err = %v, want ErrNotFound", err)
	}
	t.Run("deleting the resource forgets its migrations", func(t *testing.T) {
		if err := s.DeleteResource(ctx, "f", "app"); err != nil {
			t.Fatal(err)
		}
		got, err := s.AppliedMigrations(ctx, "f", "app")
		if err != nil || len(got) != 0 {
			t.Fatalf("AppliedMigrations after delete = %v, %v", got, err)
		}
		other, _ := s.AppliedMigrations(ctx, "f", "other")
		if len(other) != 1 {
			t.Fatalf("other resource's migrations touched: %v", other)
		}
	})
}

func TestSetMigrations(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, m := range []string{"001.sql", "002.sql", "stale.sql"} {
		if err := s.RecordMigration(ctx, "f", "app", m, "old-"+m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordMigration(ctx, "f", "other", "001.sql", "x"); err != nil {
		t.Fatal(err)
	}
	recs := []MigrationRecord{{"002.sql", "c2"}, {"001.sql", "c1"}, {"003.sql", "c3"}}
	if err := s.SetMigrations(ctx, "f", "app", recs); err != nil {
		t.Fatal(err)
	}
	got, err := s.AppliedMigrations(ctx, "f", "app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"002.sql", "001.sql", "003.sql"}, got); diff != "" {
		t.Errorf("AppliedMigrations after SetMigrations (-want +got):\n%s", diff)
	}
	if sum, err := s.MigrationChecksum(ctx, "f", "app", "001.sql"); err != nil || sum != "c1" {
		t.Errorf("MigrationChecksum = %q, %v; want c1", sum, err)
	}
	if other, _ := s.AppliedMigrations(ctx, "f", "other"); len(other) != 1 {
		t.Errorf("other resource's migrations touched: %v", other)
	}
	if err := s.SetMigrations(ctx, "f", "app", []MigrationRecord{{"x.sql", ""}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty checksum: err = %v, want ErrInvalid", err)
	}
	if got, _ := s.AppliedMigrations(ctx, "f", "app"); len(got) != 3 {
		t.Errorf("a refused SetMigrations changed the records: %v", got)
	}
	if err := s.SetMigrations(ctx, "f", "app", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AppliedMigrations(ctx, "f", "app"); len(got) != 0 {
		t.Errorf("SetMigrations(nil) left %v", got)
	}
}

// TestResourcesKeyedByFlow: two flows sharing a state directory each keep their own
// record (and migrations) of a resource with the same name.
func TestResourcesKeyedByFlow(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	a := ResourceState{Flow: "ingest", Name: "kb", Kind: "vector-index", Backend: "local", ID: "indexes/kb", UpdatedAt: t0}
	b := ResourceState{Flow: "search", Name: "kb", Kind: "vector-index", Backend: "vectorize", ID: "kb", UpdatedAt: t0}
	for _, r := range []ResourceState{a, b} {
		if err := s.PutResource(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordMigration(ctx, "ingest", "kb", "001.sql", "c1"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []ResourceState{a, b} {
		got, err := s.GetResource(ctx, want.Flow, "kb")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GetResource(%s) (-want +got):\n%s", want.Flow, diff)
		}
	}
	if got, _ := s.AppliedMigrations(ctx, "search", "kb"); len(got) != 0 {
		t.Errorf("flow search sees the migrations of flow ingest: %v", got)
	}
	if err := s.DeleteResource(ctx, "search", "kb"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetResource(ctx, "ingest", "kb"); err != nil {
		t.Errorf("deleting search's kb removed ingest's: %v", err)
	}
	if got, _ := s.AppliedMigrations(ctx, "ingest", "kb"); len(got) != 1 {
		t.Errorf("deleting search's kb removed ingest's migrations: %v", got)
	}
}

func TestClaimResource(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.PutResource(ctx, ResourceState{Name: "db", Kind: "database", UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordMigration(ctx, "", "db", "001.sql", "c1"); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimResource(ctx, "", "app", "db"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetResource(ctx, "app", "db"); err != nil || got.Flow != "app" {
		t.Fatalf("after claim: %+v, %v", got, err)
	}
	if _, err := s.GetResource(ctx, "", "db"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unowned record still there: %v", err)
	}
	if got, _ := s.AppliedMigrations(ctx, "app", "db"); len(got) != 1 {
		t.Errorf("migrations not moved with the record: %v", got)
	}
	if err := s.ClaimResource(ctx, "", "app", "db"); !errors.Is(err, ErrNotFound) {
		t.Errorf("claiming twice: err = %v, want ErrNotFound", err)
	}
	if err := s.PutResource(ctx, ResourceState{Name: "db", Kind: "database"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimResource(ctx, "", "app", "db"); !errors.Is(err, ErrConflict) {
		t.Errorf("claiming over an owned record: err = %v, want ErrConflict", err)
	}
}

// TestMigrateResourcesToFlowKeys upgrades a version-2 state in which two flows' records
// shared the name key: each row goes to the flow its attributes name, or to the only
// flow the runs name, and migrations follow their resource.
func TestMigrateResourcesToFlowKeys(t *testing.T) {
	sqliteOnly(t)
	tests := []struct {
		name  string
		runs  []string // flow_name of recorded runs
		attrs string   // attributes of the kb row
		want  string   // flow of kb after the upgrade
	}{
		{"owner in attributes", []string{"a", "b"}, `{"flow":"search","dimensions":384}`, "search"},
		{"one flow in the runs", []string{"ingest", "ingest"}, `{"dimensions":384}`, "ingest"},
		{"several flows in the runs", []string{"a", "b"}, `{"dimensions":384}`, ""},
		{"no attributes", nil, ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := sql.Open("sqlite", filepath.Join(dir, DBFile))
			if err != nil {
				t.Fatal(err)
			}
			setup := sqliteSteps(migrations[:2])
			setup = append(setup, `CREATE TABLE schema_version (version INTEGER NOT NULL)`, `INSERT INTO schema_version VALUES (2)`)
			for i, f := range tt.runs {
				setup = append(setup, fmt.Sprintf(`INSERT INTO runs (id, flow, flow_name, flow_hash, status, started_at) VALUES ('r%d', 'f.yaml', '%s', 'h', 'succeeded', 1)`, i, f))
			}
			attrs := "NULL"
			if tt.attrs != "" {
				attrs = "'" + tt.attrs + "'"
			}
			setup = append(setup, `INSERT INTO resources (name, kind, backend, id, attributes, updated_at) VALUES ('kb', 'vector-index', 'local', 'indexes/kb', `+attrs+`, 1)`,
				`INSERT INTO resource_migrations (resource, name, checksum, applied_at) VALUES ('kb', '002.sql', 'c2', 1)`,
				`INSERT INTO resource_migrations (resource, name, checksum, applied_at) VALUES ('kb', '001.sql', 'c1', 1)`)
			for _, q := range setup {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			db.Close()

			s := openStore(t, dir)
			ctx := context.Background()
			got, err := s.GetResource(ctx, tt.want, "kb")
			if err != nil {
				all, _ := s.ListResources(ctx)
				t.Fatalf("kb of flow %q after upgrade: %v (records: %+v)", tt.want, err, all)
			}
			if got.ID != "indexes/kb" || got.Kind != "vector-index" {
				t.Errorf("record changed by the upgrade: %+v", got)
			}
			migs, err := s.AppliedMigrations(ctx, tt.want, "kb")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"002.sql", "001.sql"}, migs); diff != "" {
				t.Errorf("migrations after upgrade (-want +got):\n%s", diff)
			}
		})
	}
}
