package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ResourceState is what aiflow last applied for one declared resource (a
// vector index, a database, a bucket), in the manner of a Terraform state entry.
type ResourceState struct {
	Name       string // the resource's name in the flow; the key
	Kind       string // e.g. "vector-index"
	Backend    string // e.g. "vectorize", "local"
	ID         string // the backend's identifier for it
	Attributes map[string]any
	UpdatedAt  time.Time // zero means now, on PutResource
}

const resourceCols = `name, kind, backend, id, attributes, updated_at`

// PutResource inserts or replaces the state of resource r.Name.
func (s *Store) PutResource(ctx context.Context, r ResourceState) error {
	if r.Name == "" || r.Kind == "" {
		return fmt.Errorf("recording resource %q: %w: empty name or kind", r.Name, ErrInvalid)
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = time.Now()
	}
	attrs, err := encodeJSON("attributes", r.Attributes)
	if err != nil {
		return fmt.Errorf("recording resource %q: %w", r.Name, err)
	}
	const q = `INSERT INTO resources (` + resourceCols + `) VALUES (?,?,?,?,?,?)
		ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, backend = excluded.backend,
			id = excluded.id, attributes = excluded.attributes, updated_at = excluded.updated_at`
	if _, err := s.exec(ctx, q, r.Name, r.Kind, r.Backend, r.ID, attrs, unixNano(r.UpdatedAt)); err != nil {
		return fmt.Errorf("recording resource %q: %w", r.Name, err)
	}
	return nil
}

// GetResource returns the state of resource name, or an error wrapping ErrNotFound.
func (s *Store) GetResource(ctx context.Context, name string) (ResourceState, error) {
	rs, err := s.resources(ctx, `SELECT `+resourceCols+` FROM resources WHERE name = ?`, name)
	if err == nil && len(rs) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return ResourceState{}, fmt.Errorf("reading resource %q: %w", name, err)
	}
	return rs[0], nil
}

// ListResources returns every recorded resource, ordered by name.
func (s *Store) ListResources(ctx context.Context) ([]ResourceState, error) {
	rs, err := s.resources(ctx, `SELECT `+resourceCols+` FROM resources ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing resources: %w", err)
	}
	return rs, nil
}

// DeleteResource forgets resource name and the migrations recorded for it, in
// one transaction. A name with no state fails with ErrNotFound.
func (s *Store) DeleteResource(ctx context.Context, name string) error {
	err := s.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errOr(err, ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM resource_migrations WHERE resource = ?`, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("deleting resource %q: %w", name, err)
	}
	return nil
}

// errOr returns err, or fallback when err is nil.
func errOr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

func (s *Store) resources(ctx context.Context, q string, args ...any) ([]ResourceState, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ResourceState
	for rows.Next() {
		var r ResourceState
		var attrs sql.NullString
		var updated int64
		if err := rows.Scan(&r.Name, &r.Kind, &r.Backend, &r.ID, &attrs, &updated); err != nil {
			return nil, err
		}
		r.UpdatedAt = fromUnixNano(updated)
		if err := decodeJSON("attributes", attrs, &r.Attributes); err != nil {
			return nil, fmt.Errorf("resource %q: %w", r.Name, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
