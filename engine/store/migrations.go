package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AppliedMigrations returns the names of the migrations recorded for a
// database resource of flow, in the order they were recorded.
func (s *Store) AppliedMigrations(ctx context.Context, flow, resource string) ([]string, error) {
	const q = `SELECT name FROM resource_migrations WHERE flow = ? AND resource = ? ORDER BY rowid`
	rows, err := s.query(ctx, q, flow, resource)
	if err != nil {
		return nil, fmt.Errorf("reading migrations of %q: %w", resource, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("reading migrations of %q: %w", resource, err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading migrations of %q: %w", resource, err)
	}
	return names, nil
}

// MigrationChecksum returns the checksum recorded with migration name of a
// resource of flow, or an error wrapping ErrNotFound.
func (s *Store) MigrationChecksum(ctx context.Context, flow, resource, name string) (string, error) {
	const q = `SELECT checksum FROM resource_migrations WHERE flow = ? AND resource = ? AND name = ?`
	row, err := s.queryRow(ctx, q, flow, resource, name)
	var sum string
	if err == nil {
		err = row.Scan(&sum)
	}
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("reading migration %s of %q: %w", name, resource, err)
	}
	return sum, nil
}

// RecordMigration records that migration name, with the given checksum, was
// applied to resource of flow. Recording it again with the same checksum is a no-op;
// with a different one it fails with ErrConflict, because an applied
// migration's file has been edited.
func (s *Store) RecordMigration(ctx context.Context, flow, resource, name, checksum string) error {
	if resource == "" || name == "" || checksum == "" {
		return fmt.Errorf("recording migration: %w: empty resource, name or checksum", ErrInvalid)
	}
	err := s.update(ctx, func(tx *sql.Tx) error {
		var old string
		err := tx.QueryRowContext(ctx, `SELECT checksum FROM resource_migrations WHERE flow = ? AND resource = ? AND name = ?`,
			flow, resource, name).Scan(&old)
		switch {
		case err == nil && old == checksum:
			return nil
		case err == nil:
			return fmt.Errorf("%w: recorded with checksum %s, now %s", ErrConflict, old, checksum)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO resource_migrations (flow, resource, name, checksum, applied_at) VALUES (?,?,?,?,?)`,
			flow, resource, name, checksum, time.Now().UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("recording migration %s of %q: %w", name, resource, err)
	}
	return nil
}

// MigrationRecord is one applied migration of a database resource.
type MigrationRecord struct {
	Name     string // the file name, e.g. 001_chunks.sql
	Checksum string // sha256 of the file, hex
}

// SetMigrations replaces the migrations recorded for resource of flow with recs, in their
// order. A database records its own migrations (in the transaction that runs each), so
// the state's list is a cache that apply refreshes from the database with this.
func (s *Store) SetMigrations(ctx context.Context, flow, resource string, recs []MigrationRecord) error {
	if resource == "" {
		return fmt.Errorf("recording migrations: %w: empty resource", ErrInvalid)
	}
	for _, r := range recs {
		if r.Name == "" || r.Checksum == "" {
			return fmt.Errorf("recording migrations of %q: %w: empty name or checksum", resource, ErrInvalid)
		}
	}
	err := s.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM resource_migrations WHERE flow = ? AND resource = ?`, flow, resource); err != nil {
			return err
		}
		now := time.Now().UnixNano()
		for _, r := range recs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO resource_migrations (flow, resource, name, checksum, applied_at) VALUES (?,?,?,?,?)`,
				flow, resource, r.Name, r.Checksum, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording migrations of %q: %w", resource, err)
	}
	return nil
}
