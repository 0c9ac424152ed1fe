package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	"modernc.org/sqlite"
)

// Step outputs live in the blobs table, keyed by the SHA-256 of their bytes, and
// steps rows reference them by that sum. A re-run whose outputs did not change
// (a cached ingest, say) then adds only its small step rows, not another copy of
// every vector. A blob no step references any more is garbage that PruneRuns and
// GC remove.

// sha256Func is the SQL function the schema migration uses to address the outputs
// stored before blobs existed.
const sha256Func = "aiflow_sha256"

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(sha256Func, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		var b []byte
		switch v := args[0].(type) {
		case nil:
			return nil, nil
		case []byte:
			b = v
		case string:
			b = []byte(v)
		default:
			return nil, fmt.Errorf("%s: want a blob or text, got %T", sha256Func, v)
		}
		sum := sha256.Sum256(b)
		return sum[:], nil
	})
}

// putBlobQuery stores content once; a blob already there is left alone.
const putBlobQuery = `INSERT INTO blobs (hash, data, size) VALUES (?,?,?) ON CONFLICT (hash) DO NOTHING`

// blob is content to store with the sum that addresses it.
type blob struct {
	sum  []byte
	data []byte
}

func newBlob(data []byte) blob {
	sum := sha256.Sum256(data)
	return blob{sum: sum[:], data: data}
}

// putBlob stores b inside tx unless it is empty.
func (s *Store) putBlob(ctx context.Context, tx *sql.Tx, b blob) error {
	if b.sum == nil {
		return nil
	}
	st, err := s.txStmt(ctx, tx, putBlobQuery)
	if err != nil {
		return err
	}
	if _, err := st.ExecContext(ctx, b.sum, b.data, len(b.data)); err != nil {
		return fmt.Errorf("storing output: %w", err)
	}
	return nil
}

// blobLookupBatch bounds the sums one storedBlobs query looks up.
const blobLookupBatch = 256

// storedBlobs returns which of the outputs bs are in the blobs table already, looked
// up inside tx (so a sweep cannot remove them before tx commits). A cached re-run
// records outputs that were stored by the run before: inserting each again, only for
// ON CONFLICT to drop it, bound every output's bytes (6 MB for 1,000 embeddings) for
// nothing. The map is never nil.
func storedBlobs(ctx context.Context, tx *sql.Tx, bs []blob) (map[string]bool, error) {
	stored := map[string]bool{}
	var sums []any
	for _, b := range bs {
		if b.sum != nil {
			sums = append(sums, b.sum)
		}
	}
	if len(sums) < 2 { // one insert costs no more than the look-up
		return stored, nil
	}
	for start := 0; start < len(sums); start += blobLookupBatch {
		part := sums[start:min(start+blobLookupBatch, len(sums))]
		rows, err := tx.QueryContext(ctx, `SELECT hash FROM blobs WHERE hash IN (?`+strings.Repeat(",?", len(part)-1)+`)`, part...)
		if err != nil {
			return nil, fmt.Errorf("looking up stored outputs: %w", err)
		}
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return nil, fmt.Errorf("looking up stored outputs: %w", err)
			}
			stored[string(h)] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("looking up stored outputs: %w", err)
		}
	}
	return stored, nil
}

// orphanBlobs selects the blobs no step references. steps.output_sum has no
// index of its own (it would cost every run's rows another 40 bytes each); SQLite
// builds a temporary one for the NOT IN, which a sweep can afford.
// orphanBlobs reads the steps table, not run_steps: packed records never name a blob
// (only slim records, with no output_sum, are packed).
const orphanBlobs = `FROM blobs WHERE hash NOT IN (SELECT output_sum FROM steps WHERE output_sum IS NOT NULL)`

// sweepBlobs deletes the blobs no step references and reports how many and
// their total size.
func sweepBlobs(ctx context.Context, tx *sql.Tx) (n int, size int64, err error) {
	if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(size), 0) `+orphanBlobs).Scan(&n, &size); err != nil {
		return 0, 0, fmt.Errorf("finding unreferenced outputs: %w", err)
	}
	if n == 0 {
		return 0, 0, nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE `+orphanBlobs); err != nil {
		return 0, 0, fmt.Errorf("deleting unreferenced outputs: %w", err)
	}
	return n, size, nil
}
