package store

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResourceCRUD(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	idx := ResourceState{Name: "docs", Kind: "vector-index", Backend: "vectorize", ID: "uuid-1",
		Attributes: map[string]any{"dimensions": 768.0, "metric": "cosine"}, UpdatedAt: t0}
	db := ResourceState{Name: "app", Kind: "database", Backend: "d1", ID: "d1-9", UpdatedAt: t0}
	for _, r := range []ResourceState{idx, db} {
		if err := s.PutResource(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetResource(ctx, "docs")
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

	if err := s.DeleteResource(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	errs := []struct {
		name string
		do   func() error
		want error
	}{
		{"get deleted", func() error { _, err := s.GetResource(ctx, "docs"); return err }, ErrNotFound},
		{"delete twice", func() error { return s.DeleteResource(ctx, "docs") }, ErrNotFound},
		{"empty name", func() error { return s.PutResource(ctx, ResourceState{Kind: "database"}) }, ErrInvalid},
		{"empty kind", func() error { return s.PutResource(ctx, ResourceState{Name: "x"}) }, ErrInvalid},
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
	if err := s.PutResource(ctx, ResourceState{Name: "app", Kind: "database"}); err != nil {
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
			if err := s.RecordMigration(ctx, st.resource, st.mig, st.checksum); !errors.Is(err, st.want) {
				t.Fatalf("err = %v, want %v", err, st.want)
			}
		})
	}
	got, err := s.AppliedMigrations(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"002_users.sql", "001_init.sql"}, got); diff != "" {
		t.Errorf("AppliedMigrations keeps record order (-want +got):\n%s", diff)
	}
	if sum, err := s.MigrationChecksum(ctx, "app", "002_users.sql"); err != nil || sum != "c2" {
		t.Errorf("MigrationChecksum = %q, %v; want c2", sum, err)
	}
	if _, err := s.MigrationChecksum(ctx, "app", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("MigrationChecksum(missing): err = %v, want ErrNotFound", err)
	}
	t.Run("deleting the resource forgets its migrations", func(t *testing.T) {
		if err := s.DeleteResource(ctx, "app"); err != nil {
			t.Fatal(err)
		}
		got, err := s.AppliedMigrations(ctx, "app")
		if err != nil || len(got) != 0 {
			t.Fatalf("AppliedMigrations after delete = %v, %v", got, err)
		}
		other, _ := s.AppliedMigrations(ctx, "other")
		if len(other) != 1 {
			t.Fatalf("other resource's migrations touched: %v", other)
		}
	})
}

func TestSetMigrations(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, m := range []string{"001.sql", "002.sql", "stale.sql"} {
		if err := s.RecordMigration(ctx, "app", m, "old-"+m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordMigration(ctx, "other", "001.sql", "x"); err != nil {
		t.Fatal(err)
	}
	recs := []MigrationRecord{{"002.sql", "c2"}, {"001.sql", "c1"}, {"003.sql", "c3"}}
	if err := s.SetMigrations(ctx, "app", recs); err != nil {
		t.Fatal(err)
	}
	got, err := s.AppliedMigrations(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"002.sql", "001.sql", "003.sql"}, got); diff != "" {
		t.Errorf("AppliedMigrations after SetMigrations (-want +got):\n%s", diff)
	}
	if sum, err := s.MigrationChecksum(ctx, "app", "001.sql"); err != nil || sum != "c1" {
		t.Errorf("MigrationChecksum = %q, %v; want c1", sum, err)
	}
	if other, _ := s.AppliedMigrations(ctx, "other"); len(other) != 1 {
		t.Errorf("other resource's migrations touched: %v", other)
	}
	if err := s.SetMigrations(ctx, "app", []MigrationRecord{{"x.sql", ""}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty checksum: err = %v, want ErrInvalid", err)
	}
	if got, _ := s.AppliedMigrations(ctx, "app"); len(got) != 3 {
		t.Errorf("a refused SetMigrations changed the records: %v", got)
	}
	if err := s.SetMigrations(ctx, "app", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AppliedMigrations(ctx, "app"); len(got) != 0 {
		t.Errorf("SetMigrations(nil) left %v", got)
	}
}
