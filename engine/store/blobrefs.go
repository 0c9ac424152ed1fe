package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	binblob "github.com/aiflow/aiflow/blob"
)

// blobRefSources are the stored values that may hold blob values (images, audio and
// documents kept by hash in the state directory's blobs/ folder): step outputs (in the
// blobs table or inline in the step row), cache entries, and each run's vars and
// outputs. Each is JSON text or the binary value form (value.go).
var blobRefSources = []string{
	`SELECT data FROM blobs`,
	`SELECT output_inline FROM run_steps WHERE output_inline IS NOT NULL`,
	`SELECT value FROM cache`,
	`SELECT outputs FROM runs WHERE outputs IS NOT NULL`,
	`SELECT vars FROM runs WHERE vars IS NOT NULL`,
}

// BlobRefs returns the SHA-256 of every blob value the store references, so that
// `aiflow gc` keeps their bytes. Values are decoded one at a time.
func (s *Store) BlobRefs(ctx context.Context) (map[string]bool, error) {
	return s.BlobRefsBut(ctx, nil)
}

// BlobRefsBut is BlobRefs that does not count the pins of the blobs in released (what
// `aiflow gc --release --dry-run` would remove, with those pins still in place).
func (s *Store) BlobRefsBut(ctx context.Context, released map[string]bool) (map[string]bool, error) {
	refs := map[string]bool{}
	for _, q := range blobRefSources {
		if err := s.collectBlobRefs(ctx, q, refs); err != nil {
			return nil, fmt.Errorf("finding referenced blobs: %w", err)
		}
	}
	rows, err := s.p.r.QueryContext(ctx, `SELECT sha256 FROM blob_pins`)
	if err != nil {
		return nil, fmt.Errorf("finding pinned blobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sum string
		if err := rows.Scan(&sum); err != nil {
			return nil, fmt.Errorf("finding pinned blobs: %w", err)
		}
		if !released[sum] {
			refs[sum] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("finding pinned blobs: %w", err)
	}
	return refs, nil
}

// PinBlobs keeps the blobs of v (every blob value inside it) from `aiflow gc`, for reason:
// what names them outside the run records, e.g. the results file of a dataset run, whose
// rows record no run. A blob already pinned keeps its first reason.
func (s *Store) PinBlobs(ctx context.Context, reason string, v any) error {
	var sums []string
	binblob.Walk(v, func(b binblob.Blob) { sums = append(sums, b.SHA256) })
	if len(sums) == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	err := s.update(ctx, func(tx *sql.Tx) error {
		st, err := s.txStmt(ctx, tx, `INSERT INTO blob_pins (sha256, reason, pinned_at) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING`)
		if err != nil {
			return err
		}
		for _, sum := range sums {
			if _, err := st.ExecContext(ctx, sum, reason, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pinning %d blobs: %w", len(sums), err)
	}
	return nil
}

// UnpinBlobs releases the pins of sums (see PinBlobs): `aiflow gc` then removes those
// blobs unless something else references them. It returns how many were pinned.
func (s *Store) UnpinBlobs(ctx context.Context, sums []string) (int, error) {
	n := 0
	err := s.update(ctx, func(tx *sql.Tx) error {
		st, err := s.txStmt(ctx, tx, `DELETE FROM blob_pins WHERE sha256 = ?`)
		if err != nil {
			return err
		}
		for _, sum := range sums {
			res, err := st.ExecContext(ctx, sum)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(k)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("releasing %d pinned blobs: %w", len(sums), err)
	}
	return n, nil
}

func (s *Store) collectBlobRefs(ctx context.Context, q string, refs map[string]bool) error {
	rows, err := s.p.r.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return err
		}
		v, err := DecodeValue(raw)
		if err != nil {
			continue // neither form: holds no blob value
		}
		binblob.Walk(v, func(b binblob.Blob) { refs[b.SHA256] = true })
	}
	return rows.Err()
}
