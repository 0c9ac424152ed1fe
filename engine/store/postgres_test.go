//go:build unix

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE x = ? AND y = ?`, `SELECT a FROM t WHERE x = $1 AND y = $2`},
		{`VALUES (?,?,?)`, `VALUES ($1,$2,$3)`},
		{`SELECT (SELECT count(*) FROM s WHERE r = ?1), (SELECT count(*) FROM u WHERE r = ?1)`, `SELECT (SELECT count(*) FROM s WHERE r = $1), (SELECT count(*) FROM u WHERE r = $1)`},
		{`SELECT ?2, ?, ?1`, `SELECT $2, $3, $1`}, // a bare ? follows the highest number, as in SQLite
		{`SELECT '?', "a?b", ? -- what?` + "\n" + `, ? /* ? */`, `SELECT '?', "a?b", $1 -- what?` + "\n" + `, $2 /* ? */`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := rebind(tt.in); got != tt.want {
				t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := rebind(tt.in); got != tt.want { // cached
				t.Errorf("rebind(%q) again = %q", tt.in, got)
			}
		})
	}
}

// TestMigrationsHaveBothDialects keeps a schema change from reaching one backend
// only: every step after the Postgres baseline has both texts, and no step the
// baseline already contains has a Postgres text that would never run.
func TestMigrationsHaveBothDialects(t *testing.T) {
	if len(migrations) < pgBaselineVersion {
		t.Fatalf("pgBaselineVersion %d is past the %d migrations", pgBaselineVersion, len(migrations))
	}
	for i, m := range migrations {
		v := i + 1
		if strings.TrimSpace(m.sqlite) == "" {
			t.Errorf("migration %d has no SQLite text", v)
		}
		switch {
		case v > pgBaselineVersion && strings.TrimSpace(m.postgres) == "":
			t.Errorf("migration %d has no Postgres text: write it beside the SQLite one", v)
		case v <= pgBaselineVersion && m.postgres != "":
			t.Errorf("migration %d is in pgBaseline; its Postgres text would never run", v)
		}
	}
}

// tableColumns lists each table and view of s with its columns, sorted, less the identity
// columns Postgres has in place of SQLite's implicit rowid.
func tableColumns(t *testing.T, s *Store) map[string][]string {
	t.Helper()
	q := `SELECT m.name, p.name FROM sqlite_schema m JOIN pragma_table_info(m.name) p WHERE m.type IN ('table', 'view')`
	if s.dialect == Postgres {
		q = `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'`
	}
	rows, err := s.p.r.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var tbl, col string
		if err := rows.Scan(&tbl, &col); err != nil {
			t.Fatal(err)
		}
		if col != "rowid" {
			out[tbl] = append(out[tbl], col)
		}
	}
	for _, cols := range out {
		sort.Strings(cols)
	}
	return out
}

// TestPostgresSchemaMatchesSQLite checks that the Postgres schema (baseline plus later
// steps) has the same tables and columns as SQLite's after all its migrations.
func TestPostgresSchemaMatchesSQLite(t *testing.T) {
	postgresOnly(t)
	lite, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	want, got := tableColumns(t, lite), tableColumns(t, newStore(t))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Postgres tables and columns:\n%v\nSQLite's:\n%v", got, want)
	}
}

func TestPostgresRunLock(t *testing.T) {
	postgresOnly(t)
	dir := t.TempDir()
	a, b := openStore(t, dir), openStore(t, dir) // two processes sharing the database
	unlockA, err := a.LockRun("/m1/flow.yaml", "run-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.LockRun("/m2/flow.yaml", "run-1", 50*time.Millisecond)
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) || !strings.Contains(err.Error(), "run-1") {
		t.Fatalf("second lock of run-1: err = %v; want a LockedError naming the run", err)
	}
	unlockB2, err := b.LockRun("/m2/flow.yaml", "run-2", 0)
	if err != nil {
		t.Fatalf("another run of the same flow: %v", err)
	}
	if err := unlockB2(); err != nil {
		t.Fatal(err)
	}
	if err := unlockA(); err != nil {
		t.Fatal(err)
	}
	if err := unlockA(); err != nil {
		t.Fatalf("second unlock: %v", err)
	}
	unlockB, err := b.LockRun("/m2/flow.yaml", "run-1", 0)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	unlockB()
	t.Run("a dead holder's lock is free", func(t *testing.T) {
		cmd := startHelper(t, "locked", "run-locker", "STORE_DIR="+dir, "STORE_URL="+testOptions(t, dir).URL, "RUN_ID=run-3")
		_, err := a.LockRun("f", "run-3", 0)
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("lock held by a live process: err = %v", err)
		}
		if want := fmt.Sprintf("held by pid %d (", cmd.Process.Pid); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "run run-3") {
			t.Errorf("lock error %q does not name the holder (%s…) and its run", err, want)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		unlock, err := a.LockRun("f", "run-3", 30*time.Second) // the server notices the lost session
		if err != nil {
			t.Fatalf("lock of a killed holder: %v", err)
		}
		unlock()
	})
}

func TestPostgresStateLock(t *testing.T) {
	postgresOnly(t)
	dir := t.TempDir()
	a := openStore(t, dir)
	b := openStoreOn(t, t.TempDir(), testOptions(t, dir)) // another state directory, the same database
	unlock, err := a.LockState(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.LockState(b.Dir(), 30*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("state lock of the same database from another state directory: err = %v, want ErrLocked", err)
	}
	if _, err := a.LockRun("f", "r", 0); err != nil {
		t.Fatalf("a run lock is not the state lock: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	unlock, err = b.LockState(b.Dir(), 0)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	unlock()
}

func init() {
	helpers["run-locker"] = func() int {
		s, err := OpenWith(os.Getenv("STORE_DIR"), Options{URL: os.Getenv("STORE_URL")})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, err := s.LockRun("f", os.Getenv("RUN_ID"), 0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("locked")
		time.Sleep(time.Minute)
		return 0
	}
	helpers["migrate-and-hang"] = func() int {
		migrateHook = func() {
			fmt.Println("migrating")
			time.Sleep(time.Minute)
		}
		_, err := OpenWith(os.Getenv("STORE_DIR"), Options{URL: os.Getenv("STORE_URL")})
		fmt.Fprintln(os.Stderr, "opened:", err)
		return 1
	}
}

// TestPostgresMigrationCrash kills a process in the middle of creating the schema
// (after the DDL, before the commit): the migration is one transaction, so the next
// Open finds an empty database and migrates it whole, and a second Open meanwhile
// waits for the migration's advisory lock instead of racing it.
func TestPostgresMigrationCrash(t *testing.T) {
	postgresOnly(t)
	dir := t.TempDir()
	opts := testOptions(t, dir)
	cmd := startHelper(t, "migrating", "migrate-and-hang", "STORE_DIR="+dir, "STORE_URL="+opts.URL)
	opened := make(chan error, 1)
	go func() {
		s, err := OpenWith(dir, opts)
		if err == nil {
			err = s.Close()
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("Open during another's migration returned (%v) before that migration ended", err)
	case <-time.After(300 * time.Millisecond):
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if err := <-opened; err != nil {
		t.Fatalf("Open after a migrating process was killed: %v", err)
	}
	s := openStore(t, dir)
	if v := pragmaVersion(t, s); v != len(migrations) {
		t.Fatalf("schema version %d, want %d", v, len(migrations))
	}
	if err := s.CreateRun(context.Background(), Run{ID: "r"}); err != nil {
		t.Fatal(err)
	}
}

func TestStateURLNeverInErrors(t *testing.T) {
	const secret = "s3cr3t-pw"
	for _, u := range []string{
		"postgres://aiflow:" + secret + "@127.0.0.1:1/db?connect_timeout=2",
		"postgres://aiflow@127.0.0.1:1/db?password=" + secret + "&connect_timeout=2",
		"postgresql://aiflow:" + secret + "@[::1:bad/db",
		"mysql://aiflow:" + secret + "@127.0.0.1/db",
	} {
		t.Run(RedactURL(u), func(t *testing.T) {
			if r := RedactURL(u); strings.Contains(r, secret) {
				t.Errorf("RedactURL(...) = %q keeps the password", r)
			}
			dir := filepath.Join(t.TempDir(), ".aiflow")
			s, err := OpenWith(dir, Options{URL: u})
			if err == nil {
				s.Close()
				t.Fatal("Open of an unreachable or unsupported URL succeeded")
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("a failed Open of a shared state created the state directory %s", dir)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// TestTextThatPostgresRefuses writes text Postgres's TEXT cannot hold as given (a NUL
// byte, invalid UTF-8), as a provider's error body can be: the record is kept, exactly
// on SQLite and with U+FFFD in place of the bad bytes on Postgres, instead of the write
// failing and the step record being lost.
func TestTextThatPostgresRefuses(t *testing.T) {
	ctx := context.Background()
	s := withRun(t)
	bad := "status 500: \x00\xff\xfe body"
	rec := itemRecord("s", 0)
	rec.Status, rec.Error, rec.Output = StepFailed, bad, nil
	if err := s.PutStep(ctx, rec); err != nil {
		t.Fatalf("PutStep with a NUL and invalid UTF-8 in its error: %v", err)
	}
	got, err := s.Steps(ctx, "r1")
	if err != nil || len(got) != 1 {
		t.Fatalf("Steps = %d records, %v", len(got), err)
	}
	want := bad
	if testBackend == Postgres {
		want = "status 500: \uFFFD\uFFFD body"
	}
	if got[0].Error != want {
		t.Errorf("error read back %q, want %q", got[0].Error, want)
	}
}
