package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Run event kinds: what the steps table cannot hold because a record keeps only a
// step's or item's final attempt.
const (
	EventRetry    = "retry"     // an attempt failed and the call is tried again after Wait
	EventRateWait = "rate-wait" // a provider's rate limiter held a call for Wait
)

// RunEvent is one retry or rate-limiter wait of a run, recorded so that the run
// viewer's timeline can show where a step spent its time.
type RunEvent struct {
	Seq     int64  // order within the run, assigned on write from 1
	Kind    string // EventRetry or EventRateWait
	StepID  string
	Item    int // for_each item, or WholeStep
	Attempt int // the attempt that failed (retries)
	At      time.Time
	Wait    time.Duration
	// Class is a retry's error class: rate_limit, server, timeout or error.
	Class string
	Error string // the failure, secrets already redacted
}

func validEventKind(k string) bool { return k == EventRetry || k == EventRateWait }

// appendEvents writes evs of run after its recorded ones, inside tx.
func appendEvents(ctx context.Context, tx *sql.Tx, runID string, evs []RunEvent) error {
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM run_events WHERE run_id = ?`, runID).Scan(&seq); err != nil {
		return fmt.Errorf("recording events of run %q: %w", runID, err)
	}
	for _, e := range evs {
		if !validEventKind(e.Kind) || e.StepID == "" || e.Item < WholeStep {
			return fmt.Errorf("recording events of run %q: %w: event %q of step %q item %d", runID, ErrInvalid, e.Kind, e.StepID, e.Item)
		}
		seq++
		_, err := tx.ExecContext(ctx, `INSERT INTO run_events (run_id, seq, kind, step_id, item, attempt, at, wait, class, error)
			VALUES (?,?,?,?,?,?,?,?,?,?)`, runID, seq, e.Kind, e.StepID, e.Item, e.Attempt, unixNano(e.At), int64(e.Wait), e.Class, e.Error)
		if err != nil {
			if isForeignKeyViolation(err) {
				return fmt.Errorf("recording events: run %q: %w", runID, ErrNotFound)
			}
			return fmt.Errorf("recording events of run %q: %w", runID, err)
		}
	}
	return nil
}

// RunEvents returns up to limit events of run runID in the order they happened
// (all when limit <= 0), and how many it has in all, so a viewer can say what it left out.
func (s *Store) RunEvents(ctx context.Context, runID string, limit int) ([]RunEvent, int, error) {
	var total int
	row, err := s.queryRow(ctx, `SELECT count(*) FROM run_events WHERE run_id = ?`, runID)
	if err == nil {
		err = row.Scan(&total)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading events of run %q: %w", runID, err)
	}
	if limit <= 0 {
		limit = noLimit
	}
	rows, err := s.query(ctx, `SELECT seq, kind, step_id, item, attempt, at, wait, class, error
		FROM run_events WHERE run_id = ? ORDER BY seq LIMIT ?`, runID, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("reading events of run %q: %w", runID, err)
	}
	defer rows.Close()
	var out []RunEvent
	for rows.Next() {
		var e RunEvent
		var at, wait int64
		if err := rows.Scan(&e.Seq, &e.Kind, &e.StepID, &e.Item, &e.Attempt, &at, &wait, &e.Class, &e.Error); err != nil {
			return nil, 0, fmt.Errorf("reading events of run %q: %w", runID, err)
		}
		e.At, e.Wait = fromUnixNano(at), time.Duration(wait)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("reading events of run %q: %w", runID, err)
	}
	return out, total, nil
}
