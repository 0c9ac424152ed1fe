// Package sqlitedb is the `local` backend of `database` resources: one SQLite file per
// database under <state dir>/databases/<name>.db, through modernc.org/sqlite (no cgo).
// It registers itself as the "local" database backend.
//
// Files are in WAL mode with a busy timeout, so the steps of a run, and several aiflow
// processes, can read and write one database at once; SQLite serialises the writes.
// Commits run with synchronous=NORMAL, as the state store does: a process crash never
// loses an acknowledged write; a power cut can roll back the last commits, without
// corruption.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/aiflow/aiflow/internal/sqliteopen"
	"github.com/aiflow/aiflow/providers"
)

func init() {
	providers.MustRegisterDatabaseBackend(providers.DatabaseBackendInfo{Name: "local", New: newBackend})
}

var _ providers.DatabaseBackend = (*backend)(nil)

// busyTimeout is how long a write waits for another writer before SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// backend keeps databases under <state dir>/databases/.
type backend struct{ root string }

func newBackend(cfg providers.DatabaseBackendConfig) (providers.DatabaseBackend, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("local database backend: no state directory configured")
	}
	return &backend{root: filepath.Join(cfg.StateDir, "databases")}, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$`)

// Path is where the local database name lives inside stateDir.
func Path(stateDir, name string) string {
	return filepath.Join(stateDir, "databases", name+".db")
}

func (b *backend) path(spec providers.DatabaseSpec) (string, error) {
	if !nameRE.MatchString(spec.Name) {
		return "", fmt.Errorf("database name %q: use letters, digits, _ and - (at most 64)", spec.Name)
	}
	return filepath.Join(b.root, spec.Name+".db"), nil
}

// Create makes the database file (a no-op when it exists) in WAL mode.
func (b *backend) Create(ctx context.Context, spec providers.DatabaseSpec) (providers.DatabaseInfo, error) {
	p, err := b.path(spec)
	if err != nil {
		return providers.DatabaseInfo{}, err
	}
	if err := os.MkdirAll(b.root, 0o755); err != nil {
		return providers.DatabaseInfo{}, fmt.Errorf("creating database %q: %w", spec.Name, err)
	}
	db, err := openFile(ctx, p, true)
	if err != nil {
		return providers.DatabaseInfo{}, fmt.Errorf("creating database %q: %w", spec.Name, err)
	}
	if err := db.Close(); err != nil {
		return providers.DatabaseInfo{}, fmt.Errorf("creating database %q: %w", spec.Name, err)
	}
	info, _, err := b.Describe(ctx, spec)
	return info, err
}

// Describe reports whether the file exists, its size and how many tables it holds.
func (b *backend) Describe(ctx context.Context, spec providers.DatabaseSpec) (providers.DatabaseInfo, bool, error) {
	p, err := b.path(spec)
	if err != nil {
		return providers.DatabaseInfo{}, false, err
	}
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return providers.DatabaseInfo{}, false, nil
	}
	if err != nil {
		return providers.DatabaseInfo{}, false, fmt.Errorf("describing database %q: %w", spec.Name, err)
	}
	db, err := openFile(ctx, p, false)
	if err != nil {
		return providers.DatabaseInfo{}, false, fmt.Errorf("describing database %q: %w", spec.Name, err)
	}
	defer db.Close()
	info := providers.DatabaseInfo{ID: "databases/" + spec.Name + ".db", Name: spec.Name, Size: st.Size()}
	const q = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`
	if err := db.QueryRowContext(ctx, q).Scan(&info.Tables); err != nil {
		return providers.DatabaseInfo{}, false, fmt.Errorf("describing database %q: %w", spec.Name, err)
	}
	return info, true, nil
}

// Open opens an existing database file for queries.
func (b *backend) Open(ctx context.Context, spec providers.DatabaseSpec) (providers.Database, error) {
	p, err := b.path(spec)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("database %q does not exist (run aiflow apply)", spec.Name)
	}
	db, err := openFile(ctx, p, false)
	if err != nil {
		return nil, fmt.Errorf("opening database %q: %w", spec.Name, err)
	}
	return &DB{db: db, name: spec.Name}, nil
}

// Delete removes the file and its WAL and shared-memory files.
func (b *backend) Delete(_ context.Context, spec providers.DatabaseSpec) error {
	p, err := b.path(spec)
	if err != nil {
		return err
	}
	for _, f := range []string{p, p + "-wal", p + "-shm", p + "-journal"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("deleting database %q: %w", spec.Name, err)
		}
	}
	return nil
}

// openFile opens a pool on path and checks the first connection; without create, a
// missing file is an error. Even to only read, it opens read-write: after a crash,
// SQLite must roll back a hot journal or recover the WAL, which a read-only connection
// cannot do ("attempt to write a readonly database").
func openFile(ctx context.Context, path string, create bool) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(busyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "1")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL") // durable across process crashes; see the package doc
	if !create {
		q.Set("mode", "rw")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	if err := sqliteopen.Ping(ctx, db, busyTimeout); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
