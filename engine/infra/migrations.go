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

// checkMigrations returns the migrations recorded as applied to database name, and
// fails when one of them has been edited since: migrations are applied once, so a
// change must go in a new file.
func (e *env) checkMigrations(ctx context.Context, name, dir string) ([]any, error) {
	ms, err := readMigrations(e.fl.Spec.Dir, dir)
	if err != nil {
		return nil, err
	}
	applied, err := e.st.AppliedMigrations(ctx, name)
	if err != nil {
		return nil, err
	}
	files := map[string]migration{}
	for _, m := range ms {
		files[m.name] = m
	}
	out := make([]any, 0, len(applied))
	for _, a := range applied {
		m, ok := files[a]
		if !ok {
			continue // removed after it was applied: nothing to compare or undo
		}
		out = append(out, a)
		sum, err := e.st.MigrationChecksum(ctx, name, a)
		if err != nil {
			return nil, err
		}
		if sum != m.checksum {
			return nil, fmt.Errorf("migration %s was changed after it was applied (recorded sha256 %.12s…, file now %.12s…); put the change in a new migration file", a, sum, m.checksum)
		}
	}
	return out, nil
}

// migrate applies the pending migrations of a database in order, recording each right
// after it runs.
func (e *env) migrate(ctx context.Context, b providers.DatabaseBackend, spec providers.DatabaseSpec, dir string) error {
	ms, err := readMigrations(e.fl.Spec.Dir, dir)
	if err != nil {
		return err
	}
	if _, err := e.checkMigrations(ctx, spec.Name, dir); err != nil {
		return err
	}
	applied, err := e.st.AppliedMigrations(ctx, spec.Name)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, a := range applied {
		done[a] = true
	}
	var db providers.Database
	for _, m := range ms {
		if done[m.name] {
			continue
		}
		if db == nil {
			if db, err = b.Open(ctx, spec); err != nil {
				return err
			}
			defer db.Close()
		}
		if err := db.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if err := e.st.RecordMigration(ctx, spec.Name, m.name, m.checksum); err != nil {
			return err
		}
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
