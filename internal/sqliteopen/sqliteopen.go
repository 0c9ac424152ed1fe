// Package sqliteopen checks the first connection of a SQLite pool, waiting
// out the SQLITE_BUSY that opening a fresh database can return at once.
package sqliteopen

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Ping opens db's first connection, retrying while SQLite reports the
// database busy, for up to timeout. Two processes opening a fresh file at
// once race to switch it to WAL, and that switch, unlike an ordinary write,
// can fail at once with SQLITE_BUSY instead of waiting in the busy handler.
func Ping(ctx context.Context, db *sql.DB, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := db.PingContext(ctx)
		if err == nil || !IsBusy(err) || time.Now().Add(wait).After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// IsBusy reports whether err is SQLITE_BUSY or one of its extended codes.
func IsBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}
