package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newStore opens a store in a fresh temporary directory and closes it when
// the test ends.
func newStore(t testing.TB) *Store {
	t.Helper()
	return openStore(t, t.TempDir())
}

func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	return openStoreOn(t, dir, testOptions(t, dir))
}

// openStoreOn opens dir with opts and closes it when the test ends.
func openStoreOn(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := OpenWith(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// pragma reads one PRAGMA value as text.
func pragma(t testing.TB, s *Store, name string) string {
	t.Helper()
	var v string
	if err := s.p.w.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestOpenCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", ".aiflow")
	s := openStore(t, dir)
	names := []string{DBFile, ".gitignore"}
	if testBackend == Postgres {
		names = names[1:] // the database is on the server
	}
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not created: %v", name, err)
		}
	}
	if s.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", s.Dir(), dir)
	}
}

func TestDirFor(t *testing.T) {
	tests := []struct{ flow, want string }{
		{"flows/rag.yaml", filepath.Join("flows", ".aiflow")},
		{"rag.yaml", ".aiflow"},
		{"/abs/x/f.yaml", "/abs/x/.aiflow"},
	}
	for _, tt := range tests {
		t.Run(tt.flow, func(t *testing.T) {
			if got := DirFor(tt.flow); got != tt.want {
				t.Errorf("DirFor(%q) = %q, want %q", tt.flow, got, tt.want)
			}
		})
	}
}

func TestOpenSettings(t *testing.T) {
	sqliteOnly(t)
	s := newStore(t)
	tests := []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"synchronous", "1"}, // NORMAL
		{"busy_timeout", "10000"},
		{"auto_vacuum", "2"}, // INCREMENTAL
		{"wal_autocheckpoint", "0"},
		{"journal_size_limit", "67108864"},
	}
	for _, tt := range tests {
		t.Run(tt.pragma, func(t *testing.T) {
			if got := pragma(t, s, tt.pragma); got != tt.want {
				t.Errorf("PRAGMA %s = %s, want %s", tt.pragma, got, tt.want)
			}
		})
	}
	t.Run("durable", func(t *testing.T) {
		d, err := OpenWith(t.TempDir(), Options{Durable: true})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if got := pragma(t, d, "synchronous"); got != "2" {
			t.Errorf("synchronous = %s, want 2 (FULL)", got)
		}
	})
	t.Run("readers are read-only", func(t *testing.T) {
		_, err := s.p.r.Exec(`DELETE FROM runs`)
		if err == nil {
			t.Fatal("write through the reader pool succeeded")
		}
	})
}

func TestSchemaVersion(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	if got := pragmaVersion(t, s); got != len(migrations) {
		t.Fatalf("schema version = %d, want %d", got, len(migrations))
	}
	t.Run("reopen keeps data", func(t *testing.T) {
		ctx := context.Background()
		if err := s.CreateRun(ctx, Run{ID: "r1", Flow: "f.yaml"}); err != nil {
			t.Fatal(err)
		}
		again := openStore(t, dir)
		if _, err := again.GetRun(ctx, "r1"); err != nil {
			t.Fatalf("run lost on reopen: %v", err)
		}
	})
	t.Run("newer schema is refused", func(t *testing.T) {
		if _, err := s.p.w.Exec(`UPDATE schema_version SET version = ?`, len(migrations)+1); err != nil {
			t.Fatal(err)
		}
		_, err := testOpen(t, dir)
		if err == nil || !strings.Contains(err.Error(), "newer than this aiflow understands") {
			t.Fatalf("Open on a newer schema: err = %v", err)
		}
	})
}

func TestForwardMigration(t *testing.T) {
	dir := t.TempDir()
	old, err := testOpen(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.CreateRun(context.Background(), Run{ID: "kept"}); err != nil {
		t.Fatal(err)
	}
	old.Close()

	saved := migrations
	t.Cleanup(func() { migrations = saved })
	const extra = `CREATE TABLE extra (x INTEGER); INSERT INTO extra (x) SELECT count(*) FROM runs`
	migrations = append(append([]migration(nil), saved...), migration{sqlite: extra, postgres: extra})
	s := openStore(t, dir)
	if got := pragmaVersion(t, s); got != len(saved)+1 {
		t.Fatalf("schema version after upgrade = %d, want %d", got, len(saved)+1)
	}
	var n int
	if err := s.p.r.QueryRow(`SELECT x FROM extra`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("new migration saw %d runs (%v), want 1", n, err)
	}
	t.Run("a failing migration leaves the old version", func(t *testing.T) {
		s.Close()
		const again = `CREATE TABLE extra (x INTEGER)` // already exists
		migrations = append(migrations, migration{sqlite: again, postgres: again})
		if _, err := testOpen(t, dir); err == nil || !strings.Contains(err.Error(), "migrating schema to version") {
			t.Fatalf("Open with a failing migration: err = %v", err)
		}
		migrations = migrations[:len(migrations)-1]
		if got := pragmaVersion(t, openStore(t, dir)); got != len(saved)+1 {
			t.Fatalf("version after failed migration = %d", got)
		}
	})
}

func TestOpenGarbageDatabase(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DBFile), []byte(strings.Repeat("not a database ", 300)), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir); err == nil {
		s.Close()
		t.Fatal("Open on a garbage file succeeded")
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := testOpen(t, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func pragmaVersion(t *testing.T, s *Store) int {
	t.Helper()
	var v int
	if err := s.p.r.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenRejectsFileAsDir(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(f); err == nil {
		s.Close()
		t.Fatal("Open on a regular file succeeded")
	}
}

func TestOpenOddPath(t *testing.T) {
	sqliteOnly(t)
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars&x=y")
	s := openStore(t, dir)
	if _, err := os.Stat(filepath.Join(dir, DBFile)); err != nil {
		t.Fatalf("database not at %s: %v", dir, err)
	}
	if err := s.CreateRun(context.Background(), Run{ID: "r"}); err != nil {
		t.Fatal(err)
	}
}
