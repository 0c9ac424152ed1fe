package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DBFile is the name of the SQLite database inside a state directory.
const DBFile = "state.db"

// DefaultBusyTimeout is how long a write waits for another process's write
// transaction before giving up with a "database is locked" error.
const DefaultBusyTimeout = 10 * time.Second

// Options tunes Open. The zero value is what aiflow uses.
type Options struct {
	// BusyTimeout bounds the wait for another process's write lock;
	// zero means DefaultBusyTimeout.
	BusyTimeout time.Duration
	// Durable runs with synchronous=FULL: every commit is fsynced, so even a
	// power cut loses nothing acknowledged. Off by default; see the package doc.
	Durable bool
}

// Store is an open state directory. It is safe for concurrent use by many
// goroutines; see the package doc for the multi-process contract.
type Store struct {
	dir string
	w   *sql.DB // one connection: every write, in order
	r   *sql.DB // read-only pool

	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	write bool
	query string
}

// Open opens the state directory dir, creating it and its database when
// missing, and migrates the schema forward. A database written by a newer
// aiflow (a higher schema version) is refused rather than guessed at.
func Open(dir string) (*Store, error) {
	return OpenWith(dir, Options{})
}

// OpenWith is Open with options.
func OpenWith(dir string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening state dir %s: %w", dir, err)
	}
	if err := prepareDir(abs); err != nil {
		return nil, err
	}
	s := &Store{dir: abs, stmts: map[stmtKey]*sql.Stmt{}}
	if err := s.openPools(opts); err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := migrate(ctx, s.w); err != nil {
		s.Close()
		return nil, fmt.Errorf("opening state %s: %w", s.dbPath(), err)
	}
	if err := s.warm(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("opening state %s: %w", s.dbPath(), err)
	}
	return s, nil
}

// prepareDir creates the state directory and drops a .gitignore into it so a
// flow's repository never picks up its state by accident.
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating state dir: %w", err)
	}
	ignore := filepath.Join(dir, ".gitignore")
	if _, err := os.Stat(ignore); err == nil {
		return nil
	}
	if err := os.WriteFile(ignore, []byte("# aiflow state; not for version control\n*\n"), 0o644); err != nil {
		return fmt.Errorf("creating state dir: %w", err)
	}
	return nil
}

func (s *Store) openPools(opts Options) error {
	timeout := opts.BusyTimeout
	if timeout <= 0 {
		timeout = DefaultBusyTimeout
	}
	syncMode := "NORMAL"
	if opts.Durable {
		syncMode = "FULL"
	}
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(timeout.Milliseconds(), 10))
	q.Set("_auto_vacuum", "INCREMENTAL") // takes effect only when creating the file
	q.Set("_foreign_keys", "1")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", syncMode)
	q.Set("_txlock", "immediate")
	w, err := openPool(s.dbPath(), q, 1)
	if err != nil {
		return err
	}
	q.Del("_auto_vacuum") // persistent in the file, set by the writer
	q.Del("_journal_mode")
	q.Del("_txlock")
	q.Set("_query_only", "1")
	r, err := openPool(s.dbPath(), q, max(4, runtime.GOMAXPROCS(0)))
	if err != nil {
		w.Close()
		return err
	}
	s.w, s.r = w, r
	return nil
}

// openPool opens a database/sql pool of at most n connections and checks
// that the first one opens, so a bad path fails in Open, not in first use.
func openPool(path string, q url.Values, n int) (*sql.DB, error) {
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return db, nil
}

// Dir returns the absolute path of the state directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) dbPath() string { return filepath.Join(s.dir, DBFile) }

// Close releases the database. Calls in flight must have returned.
func (s *Store) Close() error {
	s.mu.Lock()
	for k, st := range s.stmts {
		st.Close()
		delete(s.stmts, k)
	}
	s.mu.Unlock()
	var errR, errW error
	if s.r != nil {
		errR = s.r.Close()
	}
	if s.w != nil {
		errW = s.w.Close()
	}
	if errW != nil {
		return fmt.Errorf("closing state: %w", errW)
	}
	if errR != nil {
		return fmt.Errorf("closing state: %w", errR)
	}
	return nil
}

// stmt returns the prepared statement for query on the writer (write) or the
// reader pool, preparing it on first use. database/sql re-prepares it per
// connection as needed, so callers may use it from any goroutine.
func (s *Store) stmt(ctx context.Context, write bool, query string) (*sql.Stmt, error) {
	k := stmtKey{write, query}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[k]; ok {
		return st, nil
	}
	db := s.r
	if write {
		db = s.w
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("preparing statement: %w", err)
	}
	s.stmts[k] = st
	return st, nil
}

// exec runs one write statement in its own (implicit) transaction.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, true, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// query runs a read statement on the reader pool.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, false, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow runs a single-row read statement on the reader pool.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	st, err := s.stmt(ctx, false, query)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

// update runs fn in one write transaction (BEGIN IMMEDIATE), committing when
// fn returns nil and rolling back otherwise.
func (s *Store) update(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning write: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// txStmt returns a statement for query bound to tx: the cached prepared one
// when Open (or an earlier call outside a transaction) prepared it, else one
// prepared on tx itself. It never asks the pool for a connection, which would
// deadlock: the transaction holds the only writer connection.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	st, ok := s.stmts[stmtKey{true, query}]
	s.mu.Unlock()
	if ok {
		return tx.StmtContext(ctx, st), nil
	}
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("preparing statement: %w", err)
	}
	return st, nil
}

// warmQueries are prepared at Open so transactions find them cached.
var warmQueries = []string{putStepQuery}

func (s *Store) warm(ctx context.Context) error {
	for _, q := range warmQueries {
		if _, err := s.stmt(ctx, true, q); err != nil {
			return err
		}
	}
	return nil
}
