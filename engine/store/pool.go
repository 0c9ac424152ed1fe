package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"time"

	"github.com/aiflow/aiflow/internal/sqliteopen"
)

// walSizeLimit is the size the WAL file is truncated back to after a
// checkpoint resets it (PRAGMA journal_size_limit).
const walSizeLimit = 64 << 20

// pools are the three connection pools of a Store.
type pools struct {
	w    *sql.DB // one connection: every write, in order
	r    *sql.DB // read-only connections
	ckpt *sql.DB // one connection for background checkpoints (SQLite only)
	lock *sql.DB // connections holding run locks (Postgres only)
	// url and secret are the Postgres state URL and its password, kept to scrub
	// them out of errors.
	url, secret string
}

// openPools opens the writer first (it sets the persistent file settings:
// WAL mode, incremental auto-vacuum), then the readers and the checkpointer.
// Automatic checkpoints are off on every connection: they would run inside
// some unlucky commit, fsync and all; the checkpointer does them instead.
func openPools(path string, opts Options) (pools, error) {
	timeout := opts.BusyTimeout
	if timeout <= 0 {
		timeout = DefaultBusyTimeout
	}
	syncMode := "NORMAL"
	if opts.Durable {
		syncMode = "FULL"
	}
	base := func() url.Values {
		q := url.Values{}
		q.Set("_busy_timeout", strconv.FormatInt(timeout.Milliseconds(), 10))
		q.Set("_foreign_keys", "1")
		q.Set("_synchronous", syncMode)
		q.Add("_pragma", "wal_autocheckpoint(0)")
		q.Add("_pragma", "journal_size_limit("+strconv.Itoa(walSizeLimit)+")")
		return q
	}
	wq := base()
	wq.Set("_auto_vacuum", "INCREMENTAL") // takes effect only when the file is created
	wq.Set("_journal_mode", "WAL")
	wq.Set("_txlock", "immediate")
	rq := base()
	rq.Set("_query_only", "1")

	var p pools
	var err error
	if p.w, err = openPool(path, wq, 1, timeout); err != nil {
		return pools{}, err
	}
	if p.r, err = openPool(path, rq, max(4, runtime.GOMAXPROCS(0)), timeout); err != nil {
		p.close()
		return pools{}, err
	}
	if p.ckpt, err = openPool(path, base(), 1, timeout); err != nil {
		p.close()
		return pools{}, err
	}
	return p, nil
}

// close closes whichever pools are open, the writer last: when the last
// connection to the database closes, SQLite checkpoints and removes the WAL.
func (p pools) close() error {
	var errs [4]error
	for i, db := range []*sql.DB{p.lock, p.ckpt, p.r, p.w} {
		if db != nil {
			errs[i] = db.Close()
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// openPool opens a database/sql pool of at most n connections and checks
// that the first one opens, so a bad path fails in Open, not in first use.
// It waits up to timeout while the database is busy (see sqliteopen.Ping).
func openPool(path string, q url.Values, n int, timeout time.Duration) (*sql.DB, error) {
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	if err := sqliteopen.Ping(context.Background(), db, timeout); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return db, nil
}
