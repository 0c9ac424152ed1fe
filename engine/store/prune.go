package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// PruneOpts selects the runs PruneRuns removes. A run is removed when every rule
// that is set says so: it is not among the newest Keep runs of its flow, and it
// started more than OlderThan before Now. At least one rule must be set.
type PruneOpts struct {
	Flow      string        // only runs of this flow path; empty means every flow
	Keep      int           // keep the newest Keep runs of each flow; 0 sets no count rule
	OlderThan time.Duration // keep runs younger than this; 0 sets no age rule
	Now       time.Time     // zero means time.Now()
	DryRun    bool          // report what would be removed, change nothing
	// Protect keeps any run it returns true for, such as one still in progress
	// in another process. Nil protects nothing.
	Protect func(Run) bool
}

// PruneResult is what PruneRuns removed (or, on a dry run, would remove).
type PruneResult struct {
	Runs  []Run // removed runs, newest first
	Kept  int   // runs it looked at and kept
	Steps int   // step records removed with the runs
	Turns int   // agent turns removed with the runs
	// Outputs and OutputBytes count the stored outputs no remaining run
	// referenced, removed with the runs.
	Outputs     int
	OutputBytes int64
	// DiskBefore and DiskAfter are state.db plus its WAL on disk, after a
	// checkpoint; equal on a dry run.
	DiskBefore, DiskAfter int64
}

// errDryRun rolls back a transaction that only measured what it would do.
var errDryRun = errors.New("dry run")

// PruneRuns deletes old runs with their steps and turns, then the outputs no
// other run uses, and gives the space back to the file system. Cache entries are
// never touched: they belong to GC and `aiflow cache clear`.
func (s *Store) PruneRuns(ctx context.Context, o PruneOpts) (PruneResult, error) {
	if o.Keep < 0 || o.OlderThan < 0 {
		return PruneResult{}, fmt.Errorf("pruning runs: %w: negative keep or age", ErrInvalid)
	}
	if o.Keep == 0 && o.OlderThan == 0 {
		return PruneResult{}, fmt.Errorf("pruning runs: %w: neither a count to keep nor an age", ErrInvalid)
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	runs, err := s.ListRuns(ctx, ListRunsOpts{Flow: o.Flow})
	if err != nil {
		return PruneResult{}, fmt.Errorf("pruning runs: %w", err)
	}
	var res PruneResult
	seen := map[string]int{} // runs of each flow so far, newest first
	for _, r := range runs {
		seen[r.Flow]++
		keepByCount := o.Keep > 0 && seen[r.Flow] <= o.Keep
		keepByAge := o.OlderThan > 0 && !r.StartedAt.Before(o.Now.Add(-o.OlderThan))
		if keepByCount || keepByAge || (o.Protect != nil && o.Protect(r)) {
			res.Kept++
			continue
		}
		res.Runs = append(res.Runs, r)
	}
	if res.DiskBefore, err = s.settle(ctx); err != nil {
		return PruneResult{}, fmt.Errorf("pruning runs: %w", err)
	}
	res.DiskAfter = res.DiskBefore
	if len(res.Runs) == 0 {
		return res, nil
	}
	res.Outputs, res.OutputBytes, err = s.sweepOutputs(ctx, o.DryRun, func(tx *sql.Tx) error {
		for _, r := range res.Runs {
			var steps, turns int
			err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM run_steps WHERE run_id = ?1), (SELECT count(*) FROM turns WHERE run_id = ?1)`,
				r.ID).Scan(&steps, &turns)
			if err != nil {
				return err
			}
			res.Steps, res.Turns = res.Steps+steps, res.Turns+turns
			if _, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, r.ID); err != nil {
				return fmt.Errorf("deleting run %q: %w", r.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return PruneResult{}, fmt.Errorf("pruning runs: %w", err)
	}
	if o.DryRun {
		return res, nil
	}
	if res.DiskAfter, err = s.reclaim(ctx); err != nil {
		return res, fmt.Errorf("pruned %d runs but reclaiming space: %w", len(res.Runs), err)
	}
	return res, nil
}

// GCOpts tunes GC.
type GCOpts struct {
	Now    time.Time // zero means time.Now()
	DryRun bool      // report what would be removed, change nothing
}

// GCResult is what GC removed (or, on a dry run, would remove).
type GCResult struct {
	ExpiredCache int   // cache entries past their expiry
	ExpiredBytes int64 // their values' size
	// Outputs and OutputBytes count stored outputs no run references.
	Outputs     int
	OutputBytes int64
	// DiskBefore and DiskAfter are state.db plus its WAL on disk, after a
	// checkpoint; equal on a dry run.
	DiskBefore, DiskAfter int64
}

// GC removes what nothing needs any more: expired cache entries and outputs no
// step record references (left by a step re-recorded with another output, or a
// run deleted without PruneRuns). It then folds the WAL into state.db and gives
// free pages back to the file system.
func (s *Store) GC(ctx context.Context, o GCOpts) (GCResult, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	var res GCResult
	var err error
	if res.DiskBefore, err = s.settle(ctx); err != nil {
		return GCResult{}, fmt.Errorf("collecting garbage: %w", err)
	}
	res.DiskAfter = res.DiskBefore
	res.Outputs, res.OutputBytes, err = s.sweepOutputs(ctx, o.DryRun, func(tx *sql.Tx) error {
		const expired = ` FROM cache WHERE expires_at IS NOT NULL AND expires_at <= ?`
		if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(size), 0)`+expired, o.Now.UnixNano()).
			Scan(&res.ExpiredCache, &res.ExpiredBytes); err != nil {
			return fmt.Errorf("finding expired cache entries: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE`+expired, o.Now.UnixNano()); err != nil {
			return fmt.Errorf("deleting expired cache entries: %w", err)
		}
		return nil
	})
	if err != nil {
		return GCResult{}, fmt.Errorf("collecting garbage: %w", err)
	}
	if o.DryRun {
		return res, nil
	}
	if res.DiskAfter, err = s.reclaim(ctx); err != nil {
		return res, fmt.Errorf("collected garbage but reclaiming space: %w", err)
	}
	return res, nil
}

// sweepOutputs runs remove and then deletes the outputs no step record references
// any more (remove may have dropped their last users), in one transaction that a
// dry run rolls back, and reports those outputs. PruneRuns and GC differ only in
// remove.
func (s *Store) sweepOutputs(ctx context.Context, dryRun bool, remove func(tx *sql.Tx) error) (outputs int, outputBytes int64, err error) {
	err = s.update(ctx, func(tx *sql.Tx) error {
		if err := remove(tx); err != nil {
			return err
		}
		var err error
		if outputs, outputBytes, err = sweepBlobs(ctx, tx); err != nil {
			return err
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if dryRun && errors.Is(err, errDryRun) {
		err = nil
	}
	return outputs, outputBytes, err
}

// reclaim gives free pages back to the file system (incrementally where the
// database was created with auto_vacuum=INCREMENTAL, by a VACUUM otherwise)
// and returns the settled size on disk.
func (s *Store) reclaim(ctx context.Context) (int64, error) {
	if s.dialect == Postgres {
		return s.pgDiskSize(ctx) // autovacuum reclaims; the server owns the files
	}
	var mode int
	if err := s.p.w.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return 0, err
	}
	q := `PRAGMA incremental_vacuum`
	if mode != 2 { // 2 is INCREMENTAL
		q = `VACUUM`
	}
	if _, err := s.p.w.ExecContext(ctx, q); err != nil {
		return 0, fmt.Errorf("%s: %w", strings.ToLower(q), err)
	}
	return s.settle(ctx)
}

// settle copies the WAL into state.db and truncates it, so that the size on
// disk counts what is stored rather than how recently it was written, and
// returns that size (database plus whatever WAL a busy reader kept).
func (s *Store) settle(ctx context.Context) (int64, error) {
	if s.dialect == Postgres {
		return s.pgDiskSize(ctx)
	}
	if _, err := s.p.ckpt.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return 0, fmt.Errorf("checkpointing: %w", err)
	}
	return s.DiskSize()
}

// DiskSize returns the bytes the database takes on disk: state.db and its
// write-ahead log, or on Postgres the database's size as the server reports it.
func (s *Store) DiskSize() (int64, error) {
	if s.dialect == Postgres {
		return s.pgDiskSize(context.Background())
	}
	var total int64
	for _, p := range []string{s.dbPath(), s.dbPath() + "-wal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("measuring state: %w", err)
		}
		total += fi.Size()
	}
	return total, nil
}
