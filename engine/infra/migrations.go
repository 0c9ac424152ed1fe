package infra

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
)

// migration is one .sql file of a database's migrations folder.
type migration struct {
	name     string // file name, e.g. 001_chunks.sql
	sql      string
	checksum string // sha256 of the file, hex
}

// readMigrations lists dir's .sql files (dir relative to the flow), in lexical order.
func readMigrations(flowDir, dir string) ([]migration, error) {
	full := dir
	if !filepath.IsAbs(full) {
		full = filepath.Join(flowDir, dir)
	}
	entries, err := os.ReadDir(full)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var out []migration
	for _, ent := range entries {
		if ent.IsDir() || !strings.HasSuffix(ent.Name(), ".sql") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(full, ent.Name()))
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		sum := sha256.Sum256(b)
		out = append(out, migration{name: ent.Name(), sql: string(b), checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// migrationsTable is where each database records the migrations applied to it. The
// record of a migration is inserted by the transaction that runs the migration (as
// wrangler's d1_migrations and golang-migrate's schema_migrations are), so a crash or a
// kill can never leave a migration applied but unrecorded, or the reverse; and its
// primary key makes a second run of the same migration fail, and roll back, rather than
// apply twice. The state's list of a database's migrations is a cache of this table.
const migrationsTable = "aiflow_migrations"

// createMigrationsTable makes the table; it is a no-op when the table exists.
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS ` + migrationsTable + ` (
	name       TEXT PRIMARY KEY,
	checksum   TEXT NOT NULL,
	applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)`

// dbMigrations reads the migrations recorded in the database, in the order they were
// applied. ok is false when the database has no migrations table: one created by an
// aiflow that recorded migrations only in the state.
func dbMigrations(ctx context.Context, db providers.Database) (recs []store.MigrationRecord, ok bool, err error) {
	res, err := db.Query(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name = '`+migrationsTable+`'`, nil)
	if err != nil {
		return nil, false, fmt.Errorf("reading applied migrations: %w", err)
	}
	if len(res.Rows) == 0 {
		return nil, false, nil
	}
	res, err = db.Query(ctx, `SELECT name, checksum FROM `+migrationsTable+` ORDER BY rowid`, nil)
	if err != nil {
		return nil, false, fmt.Errorf("reading applied migrations: %w", err)
	}
	recs = make([]store.MigrationRecord, 0, len(res.Rows))
	for _, row := range res.Rows {
		name, _ := row[0].(string)
		sum, _ := row[1].(string)
		recs = append(recs, store.MigrationRecord{Name: name, Checksum: sum})
	}
	return recs, true, nil
}

// stateMigrations reads the migrations the state records for database name.
func (e *env) stateMigrations(ctx context.Context, name string) ([]store.MigrationRecord, error) {
	if e.st == nil {
		return nil, nil
	}
	names, err := e.st.AppliedMigrations(ctx, e.key, name)
	if err != nil {
		return nil, err
	}
	recs := make([]store.MigrationRecord, 0, len(names))
	for _, n := range names {
		sum, err := e.st.MigrationChecksum(ctx, e.key, name, n)
		if err != nil {
			return nil, err
		}
		recs = append(recs, store.MigrationRecord{Name: n, Checksum: sum})
	}
	return recs, nil
}

// appliedMigrations returns the migrations applied to the open database name: those its
// table records, or, when it has no table yet, those the state records (which apply
// adopts into a new table).
func (e *env) appliedMigrations(ctx context.Context, db providers.Database, name string) (recs []store.MigrationRecord, inDB bool, err error) {
	recs, inDB, err = dbMigrations(ctx, db)
	if err != nil || inDB {
		return recs, inDB, err
	}
	recs, err = e.stateMigrations(ctx, name)
	return recs, false, err
}

// checkMigrations returns the names of the applied migrations that are still in the
// folder, and fails when one of them has been edited since: migrations are applied
// once, so a change must go in a new file.
func checkMigrations(ms []migration, applied []store.MigrationRecord) ([]any, error) {
	files := map[string]migration{}
	for _, m := range ms {
		files[m.name] = m
	}
	out := make([]any, 0, len(applied))
	for _, a := range applied {
		m, ok := files[a.Name]
		if !ok {
			continue // removed after it was applied: nothing to compare or undo
		}
		out = append(out, a.Name)
		if a.Checksum != m.checksum {
			return nil, fmt.Errorf("migration %s was changed after it was applied (recorded sha256 %.12s…, file now %.12s…); put the change in a new migration file", a.Name, a.Checksum, m.checksum)
		}
	}
	return out, nil
}

// migrate applies the pending migrations of a database in order. Each runs in one
// transaction with the insert of its record into the database's migrations table; the
// state's copy of the list follows. adopt says the database existed before this apply:
// when it has no migrations table, the state's records are moved into a new one.
func (e *env) migrate(ctx context.Context, b providers.DatabaseBackend, spec providers.DatabaseSpec, dir string, adopt bool) error {
	ms, err := readMigrations(e.fl.Spec.Dir, dir)
	if err != nil {
		return err
	}
	db, err := b.Open(ctx, spec)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, inDB, err := dbMigrations(ctx, db)
	if err != nil {
		return err
	}
	if !inDB {
		if adopt {
			if applied, err = e.stateMigrations(ctx, spec.Name); err != nil {
				return err
			}
		}
		script := createMigrationsTable + ";\n"
		for _, a := range applied {
			script += recordMigration(a) + ";\n"
		}
		if err := db.Exec(ctx, script); err != nil {
			return fmt.Errorf("creating the %s table: %w", migrationsTable, err)
		}
	}
	if _, err := checkMigrations(ms, applied); err != nil {
		return err
	}
	if err := e.st.SetMigrations(ctx, e.key, spec.Name, applied); err != nil {
		return err
	}
	done := map[string]bool{}
	for _, a := range applied {
		done[a.Name] = true
	}
	for _, m := range ms {
		if done[m.name] {
			continue
		}
		rec := store.MigrationRecord{Name: m.name, Checksum: m.checksum}
		// The record goes first, as wrangler does: a script that ends inside a comment
		// cannot swallow it.
		if err := db.Exec(ctx, recordMigration(rec)+";\n"+m.sql); err != nil {
			if recs, ok := recordedMeanwhile(ctx, db, m.name); ok {
				// The state's cache follows the database, so the next plan starts from it.
				if err := e.st.SetMigrations(ctx, e.key, spec.Name, recs); err != nil {
					return err
				}
				return fmt.Errorf("migration %s was applied by another apply meanwhile; run aiflow plan again", m.name)
			}
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if err := e.st.RecordMigration(ctx, e.key, spec.Name, m.name, m.checksum); err != nil {
			return err
		}
	}
	return nil
}

// recordedMeanwhile reports whether the database now records migration name, with all
// it records: after the migration's run failed, that means another apply (another
// machine, another state directory) ran it since this one read the table, and the
// record's primary key rolled this run back.
func recordedMeanwhile(ctx context.Context, db providers.Database, name string) ([]store.MigrationRecord, bool) {
	recs, _, err := dbMigrations(ctx, db)
	if err != nil {
		return nil, false
	}
	for _, r := range recs {
		if r.Name == name {
			return recs, true
		}
	}
	return nil, false
}

// recordMigration is the insert of a migration's record, values written as SQL string
// literals: D1 cannot bind parameters to a script of several statements.
func recordMigration(r store.MigrationRecord) string {
	return `INSERT INTO ` + migrationsTable + ` (name, checksum) VALUES (` + sqlString(r.Name) + `, ` + sqlString(r.Checksum) + `)`
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
