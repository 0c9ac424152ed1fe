package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migration is one forward step of the schema, in each dialect's SQL. A step after
// pgBaselineVersion needs both texts (TestMigrationsHaveBothDialects checks it); the
// steps up to it have only SQLite's, because a Postgres database starts from
// pgBaseline, the schema as of that version.
type migration struct {
	sqlite   string
	postgres string
}

// migrations are the schema's forward steps; migrations[i] takes a database
// from version i to i+1. Append only: never edit a step that has shipped.
var migrations = []migration{
	// 1: runs, steps, turns, cache, resources, resource migrations, counters.
	{sqlite: `
CREATE TABLE runs (
	id          TEXT PRIMARY KEY,
	flow        TEXT NOT NULL,
	flow_name   TEXT NOT NULL,
	flow_hash   TEXT NOT NULL,
	status      TEXT NOT NULL,
	vars        TEXT,
	outputs     TEXT,
	error       TEXT NOT NULL DEFAULT '',
	started_at  INTEGER NOT NULL,
	finished_at INTEGER NOT NULL DEFAULT 0,
	in_tokens     INTEGER NOT NULL DEFAULT 0,
	out_tokens    INTEGER NOT NULL DEFAULT 0,
	cached_tokens INTEGER NOT NULL DEFAULT 0,
	neurons       REAL NOT NULL DEFAULT 0,
	usd           REAL NOT NULL DEFAULT 0,
	requests      INTEGER NOT NULL DEFAULT 0,
	engine      TEXT NOT NULL DEFAULT '',
	seed        INTEGER NOT NULL DEFAULT 0,
	labels      TEXT
);
CREATE INDEX runs_by_start ON runs (started_at DESC, id DESC);
CREATE INDEX runs_by_flow ON runs (flow, started_at DESC, id DESC);

CREATE TABLE steps (
	run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	step_id     TEXT NOT NULL,
	item        INTEGER NOT NULL,
	status      TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	inputs_hash TEXT NOT NULL DEFAULT '',
	cache_key   TEXT NOT NULL DEFAULT '',
	output      BLOB,
	error       TEXT NOT NULL DEFAULT '',
	model       TEXT NOT NULL DEFAULT '',
	provider    TEXT NOT NULL DEFAULT '',
	attempts    INTEGER NOT NULL DEFAULT 0,
	started_at  INTEGER NOT NULL DEFAULT 0,
	finished_at INTEGER NOT NULL DEFAULT 0,
	in_tokens     INTEGER NOT NULL DEFAULT 0,
	out_tokens    INTEGER NOT NULL DEFAULT 0,
	cached_tokens INTEGER NOT NULL DEFAULT 0,
	neurons       REAL NOT NULL DEFAULT 0,
	usd           REAL NOT NULL DEFAULT 0,
	requests      INTEGER NOT NULL DEFAULT 0,
	meta        TEXT,
	PRIMARY KEY (run_id, step_id, item)
);

CREATE TABLE turns (
	run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	step_id      TEXT NOT NULL,
	item         INTEGER NOT NULL,
	idx          INTEGER NOT NULL,
	role         TEXT NOT NULL,
	content      TEXT NOT NULL DEFAULT '',
	tool_name    TEXT NOT NULL DEFAULT '',
	tool_call_id TEXT NOT NULL DEFAULT '',
	arguments    BLOB,
	in_tokens     INTEGER NOT NULL DEFAULT 0,
	out_tokens    INTEGER NOT NULL DEFAULT 0,
	cached_tokens INTEGER NOT NULL DEFAULT 0,
	neurons       REAL NOT NULL DEFAULT 0,
	usd           REAL NOT NULL DEFAULT 0,
	requests      INTEGER NOT NULL DEFAULT 0,
	at           INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, step_id, item, idx)
);

CREATE TABLE cache (
	key         TEXT PRIMARY KEY,
	step_id     TEXT NOT NULL DEFAULT '',
	kind        TEXT NOT NULL DEFAULT '',
	model       TEXT NOT NULL DEFAULT '',
	value       BLOB NOT NULL,
	sum         BLOB NOT NULL,
	size        INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER,
	hits        INTEGER NOT NULL DEFAULT 0,
	last_hit_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cache_by_step ON cache (step_id, created_at);
CREATE INDEX cache_by_created ON cache (created_at);

CREATE TABLE resources (
	name       TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	backend    TEXT NOT NULL DEFAULT '',
	id         TEXT NOT NULL DEFAULT '',
	attributes TEXT,
	updated_at INTEGER NOT NULL
);

CREATE TABLE resource_migrations (
	resource   TEXT NOT NULL,
	name       TEXT NOT NULL,
	checksum   TEXT NOT NULL,
	applied_at INTEGER NOT NULL,
	PRIMARY KEY (resource, name)
);

CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
`},
	// 2: step outputs stored once by content. An unchanged re-run used to store
	// every output again (1.6 MB per run of the bundled ingest); now steps rows
	// reference a blobs row keyed by the output's SHA-256.
	{sqlite: `
CREATE TABLE blobs (
	hash BLOB NOT NULL PRIMARY KEY,
	data BLOB NOT NULL,
	size INTEGER NOT NULL
);
ALTER TABLE steps ADD COLUMN output_sum BLOB;
INSERT OR IGNORE INTO blobs (hash, data, size)
	SELECT aiflow_sha256(output), output, length(output) FROM steps WHERE output IS NOT NULL;
UPDATE steps SET output_sum = aiflow_sha256(output) WHERE output IS NOT NULL;
ALTER TABLE steps DROP COLUMN output;
`},
	// 3: resources keyed by (flow, name). Two flows sharing a state directory used to
	// overwrite each other's record of a same-named resource. A row goes to the flow its
	// attributes name (every apply recorded it); else, when the runs name a single flow,
	// to that one; else to '' (unowned), which the next flow to plan the name claims.
	{sqlite: `
CREATE TABLE resources_v3 (
	flow       TEXT NOT NULL DEFAULT '',
	name       TEXT NOT NULL,
	kind       TEXT NOT NULL,
	backend    TEXT NOT NULL DEFAULT '',
	id         TEXT NOT NULL DEFAULT '',
	attributes TEXT,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (flow, name)
);
INSERT INTO resources_v3 (flow, name, kind, backend, id, attributes, updated_at)
	SELECT coalesce(
		CASE WHEN json_valid(attributes) AND json_type(attributes, '$.flow') = 'text' THEN json_extract(attributes, '$.flow') END,
		CASE WHEN (SELECT count(DISTINCT flow_name) FROM runs WHERE flow_name != '') = 1
			THEN (SELECT max(flow_name) FROM runs WHERE flow_name != '') END,
		''), name, kind, backend, id, attributes, updated_at
	FROM resources;
CREATE TABLE resource_migrations_v3 (
	flow       TEXT NOT NULL DEFAULT '',
	resource   TEXT NOT NULL,
	name       TEXT NOT NULL,
	checksum   TEXT NOT NULL,
	applied_at INTEGER NOT NULL,
	PRIMARY KEY (flow, resource, name)
);
INSERT INTO resource_migrations_v3 (flow, resource, name, checksum, applied_at)
	SELECT coalesce((SELECT r.flow FROM resources_v3 r WHERE r.name = m.resource), ''), m.resource, m.name, m.checksum, m.applied_at
	FROM resource_migrations m ORDER BY m.rowid;
DROP TABLE resources;
DROP TABLE resource_migrations;
ALTER TABLE resources_v3 RENAME TO resources;
ALTER TABLE resource_migrations_v3 RENAME TO resource_migrations;
`},
	// 4: asynchronous batches. A batch submitted to a provider's batch API is recorded
	// before the run waits for it, so a resumed run polls it instead of paying again.
	{sqlite: `
CREATE TABLE batches (
	run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	step_id      TEXT NOT NULL,
	key          TEXT NOT NULL,
	provider     TEXT NOT NULL,
	model        TEXT NOT NULL DEFAULT '',
	job          TEXT NOT NULL,
	items        TEXT NOT NULL,
	item_keys    TEXT NOT NULL DEFAULT '[]',
	status       TEXT NOT NULL,
	submitted_at INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	PRIMARY KEY (run_id, step_id, key)
);
`},
	// 5: cache hit counts in a table of their own. SQLite rewrites a whole row on
	// UPDATE, overflow pages included, so counting a hit beside the value rewrote the
	// value: a cached re-run of a 1,000-chunk ingest wrote its 12 MB of embeddings to
	// the WAL again. Also from this version, step outputs and cache values may be in
	// the binary value form (value.go) as well as JSON text; readers take both, and the
	// version keeps an older aiflow, which reads only JSON, from misreading them.
	// And outputs of at most inlineOutputMax bytes are kept in the step row itself
	// (output_inline): a blob row and its lookup cost more than such an output.
	{sqlite: `
ALTER TABLE steps ADD COLUMN output_inline BLOB;
CREATE TABLE cache_hits (
	key         TEXT NOT NULL PRIMARY KEY REFERENCES cache (key) ON DELETE CASCADE,
	hits        INTEGER NOT NULL DEFAULT 0,
	last_hit_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO cache_hits (key, hits, last_hit_at)
	SELECT key, hits, last_hit_at FROM cache WHERE hits > 0 OR last_hit_at > 0;
ALTER TABLE cache DROP COLUMN hits;
ALTER TABLE cache DROP COLUMN last_hit_at;
`},
	// 6: the OpenTelemetry trace id of the run's latest process (empty when tracing
	// is off), so a run found in the state can be found in the tracing backend too.
	{sqlite: `
ALTER TABLE runs ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
`},
	// 7: run events the steps table cannot hold: each retry of a call (its attempt,
	// the wait before the next and the error's class) and each rate-limiter wait, so
	// the run viewer's timeline can draw them. Rare rows, deleted with their run.
	{sqlite: `
CREATE TABLE run_events (
	run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	seq     INTEGER NOT NULL,
	kind    TEXT NOT NULL,
	step_id TEXT NOT NULL,
	item    INTEGER NOT NULL,
	attempt INTEGER NOT NULL DEFAULT 0,
	at      INTEGER NOT NULL,
	wait    INTEGER NOT NULL DEFAULT 0,
	class   TEXT NOT NULL DEFAULT '',
	error   TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (run_id, seq)
);
`},
	// 8: rate_slots, the send schedule of a rate limit shared by every process using
	// this store (aiflow workers on Temporal): next_at is the first free slot in Unix
	// nanoseconds (GCRA's theoretical arrival time). See ReserveRateSlot.
	{sqlite: `
CREATE TABLE rate_slots (
	key     TEXT NOT NULL PRIMARY KEY,
	next_at INTEGER NOT NULL
);
`, postgres: `
CREATE TABLE rate_slots (
	key     TEXT NOT NULL PRIMARY KEY,
	next_at BIGINT NOT NULL
);
`},
	// 9: blob_pins, the blobs (images, audio, documents under blobs/) that something other
	// than a run record names: the results file of a dataset run (`run --inputs`), whose
	// rows keep no run record. `aiflow gc` keeps what is pinned. See PinBlobs.
	{sqlite: `
CREATE TABLE blob_pins (
	sha256    TEXT NOT NULL PRIMARY KEY,
	reason    TEXT NOT NULL,
	pinned_at INTEGER NOT NULL
);
`, postgres: `
CREATE TABLE blob_pins (
	sha256    TEXT NOT NULL PRIMARY KEY,
	reason    TEXT NOT NULL,
	pinned_at BIGINT NOT NULL
);
`},
	// 10: step_packs, plain step records many to a row. The records a new run's recorder
	// writes that have nothing but a status, an inputs hash, times and a small inline
	// output (transforms, skipped steps) are kept as one JSON array per write instead of
	// a row each: SQLite's work on a row and its index entry was half of such a step's
	// cost. Readers see both through the view run_steps; a write that cannot vouch that
	// its keys are new to the run (a resume) first moves the run's packs into rows (see
	// stepWrite.write), so a key is never in a pack and a row at once.
	{sqlite: `
CREATE TABLE step_packs (
	run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	seq     INTEGER NOT NULL,
	records TEXT NOT NULL,
	t0      INTEGER NOT NULL, -- the records' times are in nanoseconds from t0
	PRIMARY KEY (run_id, seq)
);
CREATE VIEW packed_steps AS
	SELECT p.run_id AS run_id, r.value ->> 0 AS step_id, r.value ->> 1 AS item, r.value ->> 2 AS status,
		r.value ->> 3 AS inputs_hash, r.value ->> 4 AS attempts, coalesce(p.t0 + (r.value ->> 5), 0) AS started_at,
		coalesce(p.t0 + (r.value ->> 6), 0) AS finished_at, unhex(r.value ->> 7) AS output_inline
	FROM step_packs p, json_each(p.records) r;
CREATE VIEW run_steps AS
	SELECT run_id, step_id, item, status, reason, inputs_hash, cache_key, output_sum, error, model, provider,
		attempts, started_at, finished_at, in_tokens, out_tokens, cached_tokens, neurons, usd, requests, meta, output_inline
	FROM steps
	UNION ALL
	SELECT run_id, step_id, item, status, '', inputs_hash, '', NULL, '', '', '',
		attempts, started_at, finished_at, 0, 0, 0, 0.0, 0.0, 0, NULL, output_inline
	FROM packed_steps;
`, postgres: `
CREATE TABLE step_packs (
	run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	seq     BIGINT NOT NULL,
	records TEXT NOT NULL,
	t0      BIGINT NOT NULL, -- the records' times are in nanoseconds from t0
	PRIMARY KEY (run_id, seq)
);
CREATE VIEW packed_steps AS
	SELECT p.run_id AS run_id, r.value ->> 0 AS step_id, (r.value ->> 1)::bigint AS item, r.value ->> 2 AS status,
		r.value ->> 3 AS inputs_hash, (r.value ->> 4)::bigint AS attempts, coalesce(p.t0 + (r.value ->> 5)::bigint, 0) AS started_at,
		coalesce(p.t0 + (r.value ->> 6)::bigint, 0) AS finished_at, decode(r.value ->> 7, 'hex') AS output_inline
	FROM step_packs p CROSS JOIN LATERAL jsonb_array_elements(p.records::jsonb) AS r(value);
CREATE VIEW run_steps AS
	SELECT run_id, step_id, item, status, reason, inputs_hash, cache_key, output_sum, error, model, provider,
		attempts, started_at, finished_at, in_tokens, out_tokens, cached_tokens, neurons, usd, requests, meta, output_inline
	FROM steps
	UNION ALL
	SELECT run_id, step_id, item, status, '', inputs_hash, '', NULL::bytea, '', '', '',
		attempts, started_at, finished_at, 0::bigint, 0::bigint, 0::bigint, 0::double precision, 0::double precision, 0::bigint, NULL::text, output_inline
	FROM packed_steps;
`},
}

// migrateHook, when set (by tests), runs inside the migration transaction after the
// schema's steps and before the version is recorded and committed.
var migrateHook func()

// migrate brings the database to SchemaVersion in one write transaction, so two
// processes opening a fresh database at once cannot both apply a step, and a process
// killed halfway leaves the schema as it was. On Postgres the transaction first takes
// an advisory lock (DDL there does not lock out a second migrator by itself), and a
// fresh database gets pgBaseline in one step.
func migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning migration: %w", err)
	}
	defer tx.Rollback()
	if d == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, pgMigrateLock); err != nil {
			return fmt.Errorf("locking the schema for migration: %w", err)
		}
	}
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this aiflow understands (%d); upgrade aiflow", v, len(migrations))
	}
	if v == len(migrations) {
		return nil
	}
	if d == Postgres {
		switch {
		case v == 0:
			if _, err := tx.ExecContext(ctx, pgBaseline); err != nil {
				return fmt.Errorf("creating schema version %d: %w", pgBaselineVersion, err)
			}
			v = pgBaselineVersion
		case v < pgBaselineVersion:
			return fmt.Errorf("schema version %d predates Postgres support (%d); recreate the database", v, pgBaselineVersion)
		}
	}
	for i := v; i < len(migrations); i++ {
		q := migrations[i].sqlite
		if d == Postgres {
			q = migrations[i].postgres
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("migrating schema to version %d: %w", i+1, err)
		}
	}
	if migrateHook != nil {
		migrateHook()
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(migrations)); err != nil {
		return fmt.Errorf("recording schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing migration: %w", err)
	}
	return nil
}

// schemaVersion reads the version, creating the one-row table at version 0.
func schemaVersion(ctx context.Context, tx *sql.Tx) (int, error) {
	const create = `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	var v int
	err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`)
	}
	if err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return v, nil
}
