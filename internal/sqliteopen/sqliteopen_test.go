package sqliteopen

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"
	"time"
)

// lockedFile returns a database file that another connection holds an
// exclusive lock on, and a function that releases it.
func lockedFile(t *testing.T) (string, func()) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db")
	holder, err := sql.Open("sqlite", "file:"+path+"?_txlock=exclusive")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close() })
	holder.SetMaxOpenConns(1)
	if _, err := holder.Exec("CREATE TABLE t(x)"); err != nil {
		t.Fatal(err)
	}
	tx, err := holder.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	return path, func() { tx.Commit() }
}

func walPool(t *testing.T, path string) *sql.DB {
	t.Helper()
	q := url.Values{}
	q.Set("_busy_timeout", "0")
	q.Set("_journal_mode", "WAL")
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestPingWaitsForBusyDatabase(t *testing.T) {
	path, release := lockedFile(t)
	db := walPool(t, path)
	if err := Ping(context.Background(), db, 0); !IsBusy(err) {
		t.Fatalf("Ping with no time to wait: %v, want SQLITE_BUSY", err)
	}
	time.AfterFunc(50*time.Millisecond, release)
	if err := Ping(context.Background(), db, 10*time.Second); err != nil {
		t.Fatalf("Ping after the lock is released: %v", err)
	}
}

func TestPingStopsOnCancel(t *testing.T) {
	path, _ := lockedFile(t)
	db := walPool(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if err := Ping(ctx, db, time.Hour); err == nil {
		t.Fatal("Ping succeeded on a locked database")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Ping took %v after cancel", d)
	}
}
