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
	// Flow identifies the flow that declares the resource; with Name it is the key, so
	// two flows sharing a state directory can each have a resource called kb. Empty
	// means unowned: a record from before resources were keyed by flow.
	Flow       string
	Name       string // the resource's name in the flow
	Kind       string // e.g. "vector-index"
	Backend    string // e.g. "vectorize", "local"
	ID         string // the backend's identifier for it
	Attributes map[string]any
	UpdatedAt  time.Time // zero means now, on PutResource
}

const resourceCols = `flow, name, kind, backend, id, attributes, updated_at`

// PutResource inserts or replaces the state of resource r.Name of flow r.Flow.
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
	const q = `INSERT INTO resources (` + resourceCols + `) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT (flow, name) DO UPDATE SET kind = excluded.kind, backend = excluded.backend,
			id = excluded.id, attributes = excluded.attributes, updated_at = excluded.updated_at`
	if _, err := s.exec(ctx, q, r.Flow, r.Name, r.Kind, r.Backend, r.ID, attrs, unixNano(r.UpdatedAt)); err != nil {
		return fmt.Errorf("recording resource %q: %w", r.Name, err)
	}
	return nil
}

// GetResource returns the state of resource name of flow, or an error wrapping ErrNotFound.
func (s *Store) GetResource(ctx context.Context, flow, name string) (ResourceState, error) {
	rs, err := s.resources(ctx, `SELECT `+resourceCols+` FROM resources WHERE flow = ? AND name = ?`, flow, name)
	if err == nil && len(rs) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return ResourceState{}, fmt.Errorf("reading resource %q: %w", name, err)
	}
	return rs[0], nil
}

// ListResources returns every recorded resource of every flow, ordered by flow and name.
func (s *Store) ListResources(ctx context.Context) ([]ResourceState, error) {
	rs, err := s.resources(ctx, `SELECT `+resourceCols+` FROM resources ORDER BY flow, name`)
	if err != nil {
		return nil, fmt.Errorf("listing resources: %w", err)
	}
	return rs, nil
}

// DeleteResource forgets resource name of flow and the migrations recorded for it,
// in one transaction. A name with no state fails with ErrNotFound.
func (s *Store) DeleteResource(ctx context.Context, flow, name string) error {
	err := s.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE flow = ? AND name = ?`, flow, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errOr(err, ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM resource_migrations WHERE flow = ? AND resource = ?`, flow, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("deleting resource %q: %w", name, err)
	}
	return nil
}

// ClaimResource moves the record of resource name, and its migrations, from flow from
// to flow to, in one transaction: an unowned record (from before resources were keyed
// by flow) becomes the record of the flow that declares the name. It fails with
// ErrNotFound when from has no such record and ErrConflict when to already has one.
func (s *Store) ClaimResource(ctx context.Context, from, to, name string) error {
	err := s.update(ctx, func(tx *sql.Tx) error {
		var have, taken int
		const q = `SELECT count(*) FILTER (WHERE flow = ?), count(*) FILTER (WHERE flow = ?) FROM resources WHERE name = ?`
		if err := tx.QueryRowContext(ctx, q, from, to, name).Scan(&have, &taken); err != nil {
			return err
		}
		switch {
		case have == 0:
			return ErrNotFound
		case taken > 0:
			return fmt.Errorf("%w: flow %q already has a record of it", ErrConflict, to)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE resources SET flow = ? WHERE flow = ? AND name = ?`, to, from, name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM resource_migrations WHERE flow = ? AND resource = ?`, to, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE resource_migrations SET flow = ? WHERE flow = ? AND resource = ?`, to, from, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("claiming resource %q for flow %q: %w", name, to, err)
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
		if err := rows.Scan(&r.Flow, &r.Name, &r.Kind, &r.Backend, &r.ID, &attrs, &updated); err != nil {
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
