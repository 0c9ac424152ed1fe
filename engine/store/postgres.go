package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgBaselineVersion is the schema version pgBaseline creates.
const pgBaselineVersion = 7

// pgMigrateLock is the advisory lock key migrations hold ("aiflowmg").
const pgMigrateLock int64 = 0x6169666c6f776d67

// pgBaseline is the schema of migrations 1–7 in PostgreSQL's types: BIGINT for
// INTEGER, DOUBLE PRECISION for REAL, BYTEA for BLOB. Where SQLite's queries order by
// the implicit rowid, the table has an identity column of that name. It also defines
// the two-argument scalar max and min SQLite has built in (Postgres has only the
// aggregates of those names), which the shared queries use.
const pgBaseline = `
CREATE FUNCTION max(a BIGINT, b BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT greatest(a, b)';
CREATE FUNCTION min(a BIGINT, b BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT least(a, b)';

CREATE TABLE runs (
	id          TEXT PRIMARY KEY,
	flow        TEXT NOT NULL,
	flow_name   TEXT NOT NULL,
	flow_hash   TEXT NOT NULL,
	status      TEXT NOT NULL,
	vars        TEXT,
	outputs     TEXT,
	error       TEXT NOT NULL DEFAULT '',
	started_at  BIGINT NOT NULL,
	finished_at BIGINT NOT NULL DEFAULT 0,
	in_tokens     BIGINT NOT NULL DEFAULT 0,
	out_tokens    BIGINT NOT NULL DEFAULT 0,
	cached_tokens BIGINT NOT NULL DEFAULT 0,
	neurons       DOUBLE PRECISION NOT NULL DEFAULT 0,
	usd           DOUBLE PRECISION NOT NULL DEFAULT 0,
	requests      BIGINT NOT NULL DEFAULT 0,
	engine      TEXT NOT NULL DEFAULT '',
	seed        BIGINT NOT NULL DEFAULT 0,
	labels      TEXT,
	trace_id    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_by_start ON runs (started_at DESC, id DESC);
CREATE INDEX runs_by_flow ON runs (flow, started_at DESC, id DESC);

CREATE TABLE steps (
	run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	step_id     TEXT NOT NULL,
	item        BIGINT NOT NULL,
	status      TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	inputs_hash TEXT NOT NULL DEFAULT '',
	cache_key   TEXT NOT NULL DEFAULT '',
	error       TEXT NOT NULL DEFAULT '',
	model       TEXT NOT NULL DEFAULT '',
	provider    TEXT NOT NULL DEFAULT '',
	attempts    BIGINT NOT NULL DEFAULT 0,
	started_at  BIGINT NOT NULL DEFAULT 0,
	finished_at BIGINT NOT NULL DEFAULT 0,
	in_tokens     BIGINT NOT NULL DEFAULT 0,
	out_tokens    BIGINT NOT NULL DEFAULT 0,
	cached_tokens BIGINT NOT NULL DEFAULT 0,
	neurons       DOUBLE PRECISION NOT NULL DEFAULT 0,
	usd           DOUBLE PRECISION NOT NULL DEFAULT 0,
	requests      BIGINT NOT NULL DEFAULT 0,
	meta        TEXT,
	output_sum  BYTEA,
	output_inline BYTEA,
	PRIMARY KEY (run_id, step_id, item)
);

CREATE TABLE turns (
	run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	step_id      TEXT NOT NULL,
	item         BIGINT NOT NULL,
	idx          BIGINT NOT NULL,
	role         TEXT NOT NULL,
	content      TEXT NOT NULL DEFAULT '',
	tool_name    TEXT NOT NULL DEFAULT '',
	tool_call_id TEXT NOT NULL DEFAULT '',
	arguments    BYTEA,
	in_tokens     BIGINT NOT NULL DEFAULT 0,
	out_tokens    BIGINT NOT NULL DEFAULT 0,
	cached_tokens BIGINT NOT NULL DEFAULT 0,
	neurons       DOUBLE PRECISION NOT NULL DEFAULT 0,
	usd           DOUBLE PRECISION NOT NULL DEFAULT 0,
	requests      BIGINT NOT NULL DEFAULT 0,
	at           BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, step_id, item, idx)
);

CREATE TABLE cache (
	key         TEXT PRIMARY KEY,
	step_id     TEXT NOT NULL DEFAULT '',
	kind        TEXT NOT NULL DEFAULT '',
	model       TEXT NOT NULL DEFAULT '',
	value       BYTEA NOT NULL,
	sum         BYTEA NOT NULL,
	size        BIGINT NOT NULL,
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT
);
CREATE INDEX cache_by_step ON cache (step_id, created_at);
CREATE INDEX cache_by_created ON cache (created_at);

CREATE TABLE cache_hits (
	key         TEXT NOT NULL PRIMARY KEY REFERENCES cache (key) ON DELETE CASCADE,
	hits        BIGINT NOT NULL DEFAULT 0,
	last_hit_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE resources (
	flow       TEXT NOT NULL DEFAULT '',
	name       TEXT NOT NULL,
	kind       TEXT NOT NULL,
	backend    TEXT NOT NULL DEFAULT '',
	id         TEXT NOT NULL DEFAULT '',
	attributes TEXT,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (flow, name)
);

CREATE TABLE resource_migrations (
	rowid      BIGINT GENERATED ALWAYS AS IDENTITY,
	flow       TEXT NOT NULL DEFAULT '',
	resource   TEXT NOT NULL,
	name       TEXT NOT NULL,
	checksum   TEXT NOT NULL,
	applied_at BIGINT NOT NULL,
	PRIMARY KEY (flow, resource, name)
);

CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value BIGINT NOT NULL
);

CREATE TABLE blobs (
	hash BYTEA NOT NULL PRIMARY KEY,
	data BYTEA NOT NULL,
	size BIGINT NOT NULL
);

CREATE TABLE batches (
	rowid        BIGINT GENERATED ALWAYS AS IDENTITY,
	run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	step_id      TEXT NOT NULL,
	key          TEXT NOT NULL,
	provider     TEXT NOT NULL,
	model        TEXT NOT NULL DEFAULT '',
	job          TEXT NOT NULL,
	items        TEXT NOT NULL,
	item_keys    TEXT NOT NULL DEFAULT '[]',
	status       TEXT NOT NULL,
	submitted_at BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL,
	PRIMARY KEY (run_id, step_id, key)
);

CREATE TABLE run_events (
	run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	seq     BIGINT NOT NULL,
	kind    TEXT NOT NULL,
	step_id TEXT NOT NULL,
	item    BIGINT NOT NULL,
	attempt BIGINT NOT NULL DEFAULT 0,
	at      BIGINT NOT NULL,
	wait    BIGINT NOT NULL DEFAULT 0,
	class   TEXT NOT NULL DEFAULT '',
	error   TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (run_id, seq)
);
`

// IsPostgresURL reports whether u names a PostgreSQL database (postgres:// or
// postgresql://), the one kind of state URL aiflow accepts.
func IsPostgresURL(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

var pwParam = regexp.MustCompile(`(?i)(password=)[^&\s]*`)

// RedactURL returns u fit to print: the password of its user info and any password
// parameter are replaced by "xxxxx". A state URL carries the database password, so
// it is never printed, logged or stored as given.
func RedactURL(u string) string {
	if p, err := url.Parse(u); err == nil && p.User != nil {
		if _, has := p.User.Password(); has {
			p.User = url.UserPassword(p.User.Username(), "xxxxx")
		}
		u = p.String()
	} else if err != nil {
		// Unparseable: keep only the scheme, which says enough.
		if i := strings.Index(u, "://"); i >= 0 {
			return u[:i+3] + "…"
		}
		return "(unparseable state URL)"
	}
	return pwParam.ReplaceAllString(u, "${1}xxxxx")
}

// scrubbedError is an error whose text has the state URL's password taken out.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrub removes secret (the password) and the raw URL from err's text.
func scrub(err error, rawURL, secret string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if rawURL != "" {
		msg = strings.ReplaceAll(msg, rawURL, RedactURL(rawURL))
	}
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "xxxxx")
		if esc := url.QueryEscape(secret); esc != secret {
			msg = strings.ReplaceAll(msg, esc, "xxxxx")
		}
	}
	return &scrubbedError{msg: msg, err: err}
}

// openPostgres opens the pools of a Postgres-backed store: one writer connection
// (writes queue in Go, as on SQLite), a reader pool, and a pool for the
// connections that hold run locks. Errors never carry the password.
func openPostgres(rawURL string) (pools, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return pools{}, scrub(fmt.Errorf("invalid state URL %s: %w", RedactURL(rawURL), err), rawURL, "")
	}
	secret := cfg.Password
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "aiflow"
	}
	open := func(n int) (*sql.DB, error) {
		db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ConnectTimeout+5*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, scrub(fmt.Errorf("connecting to %s: %w", RedactURL(rawURL), err), rawURL, secret)
		}
		return db, nil
	}
	var p pools
	if p.w, err = open(1); err != nil {
		return pools{}, err
	}
	if p.r, err = open(max(4, runtime.GOMAXPROCS(0))); err != nil {
		p.close()
		return pools{}, err
	}
	// Lock connections are closed when released (no idle ones), so a lock never
	// outlives its holder on a pooled connection.
	p.lock = sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	p.lock.SetMaxIdleConns(0)
	p.secret, p.url = secret, rawURL
	return p, nil
}

// runLockKey is the advisory lock key of run runID: the first 8 bytes of its SHA-256.
func runLockKey(runID string) int64 {
	sum := sha256.Sum256([]byte("aiflow-run\x00" + runID))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// LockRun takes the run lock of flow and runID, waiting up to wait for it. On SQLite it
// is the package's LockRun (a file lock per flow in the state directory). On Postgres
// it is an advisory lock on a hash of the run id, held by a connection of its own
// until unlock, so two machines sharing the database never execute one run at once
// (a resumed run included); the server drops it if the holder dies. A second holder
// gets a *LockedError naming the run.
func (s *Store) LockRun(flow, runID string, wait time.Duration) (unlock func() error, err error) {
	if s.dialect != Postgres {
		return LockRun(s.dir, flow, runID, wait)
	}
	unlock, err = s.pgLock(runLockKey(runID), "run "+runID, LockHolder{Flow: flow, RunID: runID}, wait)
	var le *LockedError
	if errors.As(err, &le) {
		le.Flow = flow
	}
	return unlock, err
}

// pgStateLock is the advisory lock key of LockState on Postgres ("aiflowst").
const pgStateLock int64 = 0x6169666c6f777374

// LockState takes the state lock that apply and destroy hold while they change
// resources, waiting up to wait: on SQLite Lock(dir, wait), a file lock in the state
// directory dir; on Postgres an advisory lock of the shared database, so two machines
// never change the resources it records at once.
func (s *Store) LockState(dir string, wait time.Duration) (unlock func() error, err error) {
	if s.dialect != Postgres {
		return Lock(dir, wait)
	}
	return s.pgLock(pgStateLock, "the state", LockHolder{}, wait)
}

// pgLock takes advisory lock key on a connection of its own, polling until wait has
// passed. The connection carries this process's details as its application_name, which
// a waiter reads back (pg_locks, pg_stat_activity) for the *LockedError it returns.
func (s *Store) pgLock(key int64, what string, holder LockHolder, wait time.Duration) (unlock func() error, err error) {
	ctx := context.Background()
	conn, err := s.p.lock.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", what, scrub(err, s.p.url, s.p.secret))
	}
	fail := func(err error) (func() error, error) {
		conn.Close()
		return nil, fmt.Errorf("locking %s: %w", what, scrub(err, s.p.url, s.p.secret))
	}
	start := time.Now()
	for {
		var ok bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(?)`, key).Scan(&ok); err != nil {
			return fail(err)
		}
		if ok {
			break
		}
		waited := time.Since(start)
		if waited >= wait {
			conn.Close()
			h := s.pgHolder(ctx, key)
			if h.RunID == "" {
				h.RunID = holder.RunID
			}
			return nil, &LockedError{Path: "postgres advisory lock of " + what, Holder: h, Waited: waited}
		}
		time.Sleep(min(lockPoll, wait-waited))
	}
	if _, err := conn.ExecContext(ctx, `SELECT set_config('application_name', ?, false)`, holderName()); err != nil {
		conn.ExecContext(ctx, `SELECT pg_advisory_unlock(?)`, key)
		return fail(err)
	}
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			_, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock(?)`, key)
			// Closing returns the connection, and the pool keeps no idle ones: its
			// session, and any lock it still holds, ends here either way.
			uerr = errors.Join(err, conn.Close())
			if uerr != nil {
				uerr = fmt.Errorf("unlocking %s: %w", what, scrub(uerr, s.p.url, s.p.secret))
			}
		})
		return uerr
	}, nil
}

// holderName is the application_name a lock's connection carries: "aiflow pid=N
// since=T cmd=C host=H". Postgres keeps 63 bytes of it; the host, last, is what a long
// name loses.
func holderName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("aiflow pid=%d since=%d cmd=%s host=%s", os.Getpid(), time.Now().Unix(), commandName(), host)
}

// pgHolder reads the details of whoever holds advisory lock key; zero when they are
// not to be had (the holder just left, or the role may not see other sessions).
func (s *Store) pgHolder(ctx context.Context, key int64) LockHolder {
	var name string
	err := s.p.r.QueryRowContext(ctx, `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND l.classid = ? AND l.objid = ? AND l.objsubid = 1`, int64(uint64(key)>>32), int64(uint64(key)&0xffffffff)).Scan(&name)
	if err != nil {
		return LockHolder{}
	}
	var h LockHolder
	rest, host, _ := strings.Cut(name, " host=")
	rest, h.Command, _ = strings.Cut(rest, " cmd=") // the command may hold a space: "aiflow run"
	h.Host = host
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "pid":
			h.PID, _ = strconv.Atoi(v)
		case "since":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				h.Since = time.Unix(n, 0)
			}
		}
	}
	return h
}

// pgDiskSize is the size of the current database as Postgres counts it.
func (s *Store) pgDiskSize(ctx context.Context) (int64, error) {
	var n int64
	if err := s.p.r.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&n); err != nil {
		return 0, fmt.Errorf("measuring state: %w", err)
	}
	return n, nil
}
