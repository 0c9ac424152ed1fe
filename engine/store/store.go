package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DirName is the state directory's name when it sits beside a flow.
const DirName = ".aiflow"

// DBFile is the name of the SQLite database inside a state directory.
const DBFile = "state.db"

// DirFor returns the default state directory of the flow file at flowPath:
// .aiflow in the same directory.
func DirFor(flowPath string) string {
	return filepath.Join(filepath.Dir(flowPath), DirName)
}

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
	// URL, when set, is a postgres:// URL: the run records and the cache then live in
	// that PostgreSQL database, which many machines may share, instead of state.db.
	// Blobs and locks of the state directory stay per machine. Never printed as given:
	// see RedactURL.
	URL string
}

// Store is an open state directory. It is safe for concurrent use by many
// goroutines; see the package doc for the multi-process contract.
type Store struct {
	dir     string
	dialect Dialect
	p       pools
	ckpt    *checkpointer
	hits    hitBatch
	// restartFrames is walRestartFrames; tests lower it.
	restartFrames int

	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt

	closeOnce sync.Once
	closeErr  error
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
	// A shared database is reached first: a URL that does not work leaves no state
	// directory behind. SQLite's database lives in the directory, so it comes first.
	if opts.URL == "" {
		if err := prepareDir(abs); err != nil {
			return nil, err
		}
	}
	s := &Store{dir: abs, dialect: SQLite, ckpt: newCheckpointer(), restartFrames: walRestartFrames, stmts: map[stmtKey]*sql.Stmt{}}
	if opts.URL != "" {
		if !IsPostgresURL(opts.URL) {
			return nil, fmt.Errorf("opening state: unsupported state URL %s: expected postgres://user@host/db", RedactURL(opts.URL))
		}
		s.dialect = Postgres
		s.p, err = openPostgres(opts.URL)
	} else {
		s.p, err = openPools(s.dbPath(), opts)
	}
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := migrate(ctx, s.p.w, s.dialect); err != nil {
		s.p.close()
		return nil, fmt.Errorf("opening state %s: %w", s.where(), scrub(err, s.p.url, s.p.secret))
	}
	if err := s.warm(ctx); err != nil {
		s.p.close()
		return nil, fmt.Errorf("opening state %s: %w", s.where(), scrub(err, s.p.url, s.p.secret))
	}
	if s.dialect == Postgres {
		if err := prepareDir(abs); err != nil { // for the blobs
			s.p.close()
			return nil, err
		}
	}
	if s.dialect == SQLite {
		s.ckpt.start(s.checkpoint)
	}
	return s, nil
}

// where names the database for messages: state.db's path, or the redacted URL.
func (s *Store) where() string {
	if s.dialect == Postgres {
		return RedactURL(s.p.url)
	}
	return s.dbPath()
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

// Dir returns the absolute path of the state directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) dbPath() string { return filepath.Join(s.dir, DBFile) }

// Close writes pending cache hit counts and releases the database. Calls in
// flight must have returned; calling Close again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Store) close() error {
	errH := s.flushHits(context.Background())
	if s.dialect == SQLite {
		s.ckpt.stop()
	}
	s.mu.Lock()
	for k, st := range s.stmts {
		st.Close()
		delete(s.stmts, k)
	}
	s.mu.Unlock()
	if err := errors.Join(errH, s.p.close()); err != nil {
		return fmt.Errorf("closing state: %w", err)
	}
	return nil
}
