package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Run statuses.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunCancelled = "cancelled"
)

// Run is one execution of a flow.
type Run struct {
	ID       string
	Flow     string // path of the flow file
	FlowName string
	FlowHash string
	Status   string // one of the Run* statuses
	// Vars are the run's variables, already redacted by the caller.
	Vars       map[string]any
	Outputs    map[string]any
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time // zero while running
	Usage      Usage
	Engine     string // engine version that ran it
	Seed       int64
	Labels     map[string]string
	// TraceID is the W3C trace id (32 hex digits) of the OpenTelemetry trace of
	// the run's latest process, or empty when tracing was off.
	TraceID string
}

// ListRunsOpts filters ListRuns. Zero fields do not filter.
type ListRunsOpts struct {
	Flow   string // only runs of this flow path
	Status string // only runs in this status
	Limit  int    // at most this many; 0 means all
}

const runCols = `id, flow, flow_name, flow_hash, status, vars, outputs, error,
	started_at, finished_at, in_tokens, out_tokens, cached_tokens, neurons, usd, requests,
	engine, seed, labels, trace_id`

// CreateRun records a new run. An empty Status means RunRunning and a zero
// StartedAt means now. A taken ID fails with ErrExists.
func (s *Store) CreateRun(ctx context.Context, r Run) error {
	args, err := createArgs(r)
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, createRunQuery, args...); err != nil {
		return createErr(r.ID, err)
	}
	return nil
}

const createRunQuery = `INSERT INTO runs (` + runCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

// createArgs are createRunQuery's values for r, with CreateRun's defaults.
func createArgs(r Run) ([]any, error) {
	if r.Status == "" {
		r.Status = RunRunning
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = time.Now()
	}
	args, err := runArgs(r)
	if err != nil {
		return nil, fmt.Errorf("creating run %q: %w", r.ID, err)
	}
	return args, nil
}

func createErr(id string, err error) error {
	if isUniqueViolation(err) {
		return fmt.Errorf("creating run %q: %w", id, ErrExists)
	}
	return fmt.Errorf("creating run %q: %w", id, err)
}

func runArgs(r Run) ([]any, error) {
	if r.ID == "" {
		return nil, fmt.Errorf("%w: empty run id", ErrInvalid)
	}
	if !validRunStatus(r.Status) {
		return nil, fmt.Errorf("%w: unknown run status %q", ErrInvalid, r.Status)
	}
	vars, err := encodeJSON("vars", r.Vars)
	if err != nil {
		return nil, err
	}
	outputs, err := encodeJSON("outputs", r.Outputs)
	if err != nil {
		return nil, err
	}
	labels, err := encodeJSON("labels", r.Labels)
	if err != nil {
		return nil, err
	}
	args := []any{r.ID, r.Flow, r.FlowName, r.FlowHash, r.Status, vars, outputs, r.Error,
		unixNano(r.StartedAt), unixNano(r.FinishedAt)}
	args = append(args, usageArgs(r.Usage)...)
	return append(args, r.Engine, r.Seed, labels, r.TraceID), nil
}

func validRunStatus(s string) bool {
	switch s {
	case RunRunning, RunSucceeded, RunFailed, RunCancelled:
		return true
	}
	return false
}

// FinishRun marks run id finished now with a terminal status (succeeded,
// failed or cancelled), its outputs, error message and total usage.
func (s *Store) FinishRun(ctx context.Context, id, status string, outputs map[string]any, errMsg string, usage Usage) error {
	args, err := finishArgs(id, RunFinish{Status: status, Outputs: outputs, Error: errMsg, Usage: usage})
	if err != nil {
		return err
	}
	return s.execOne(ctx, "finishing run "+quote(id), finishRunQuery, args...)
}

// RunFinish is how a run ended: FinishRun's arguments, for a Progress that
// finishes the run in the same transaction as its last records.
type RunFinish struct {
	Status  string // succeeded, failed or cancelled
	Outputs map[string]any
	Error   string
	Usage   Usage // the run's total
}

const finishRunQuery = `UPDATE runs SET status = ?, outputs = ?, error = ?, finished_at = ?,
		in_tokens = ?, out_tokens = ?, cached_tokens = ?, neurons = ?, usd = ?, requests = ?
		WHERE id = ?`

// checkFinalStatus refuses a status run id cannot end with.
func checkFinalStatus(id, status string) error {
	if status == RunRunning || !validRunStatus(status) {
		return fmt.Errorf("finishing run %q: %w: %q is not a final status", id, ErrInvalid, status)
	}
	return nil
}

// finishArgs checks f and returns finishRunQuery's arguments for run id.
func finishArgs(id string, f RunFinish) ([]any, error) {
	if err := checkFinalStatus(id, f.Status); err != nil {
		return nil, err
	}
	out, err := encodeJSON("outputs", f.Outputs)
	if err != nil {
		return nil, fmt.Errorf("finishing run %q: %w", id, err)
	}
	args := append([]any{f.Status, out, f.Error, unixNano(time.Now())}, usageArgs(f.Usage)...)
	return append(args, id), nil
}

// SetRunTraceID records the trace id of the process now running run id; a
// resumed run takes the resuming process's trace.
func (s *Store) SetRunTraceID(ctx context.Context, id, traceID string) error {
	const q = `UPDATE runs SET trace_id = ? WHERE id = ?`
	return s.execOne(ctx, "recording the trace id of run "+quote(id), q, traceID, id)
}

// ReopenRun puts a finished run back into the running state, clearing its
// finish time and error, so that a resume can continue it under the same ID.
// Its usage is kept: a resume adds to what the run already paid. Non-nil
// labels replace the recorded ones (the CLI records the resuming process's pid
// and host, so the run is not shown as interrupted while it runs again).
func (s *Store) ReopenRun(ctx context.Context, id string, labels map[string]string) error {
	if labels == nil {
		const q = `UPDATE runs SET status = 'running', error = '', finished_at = 0 WHERE id = ?`
		return s.execOne(ctx, "reopening run "+quote(id), q, id)
	}
	l, err := encodeJSON("labels", labels)
	if err != nil {
		return fmt.Errorf("reopening run %q: %w", id, err)
	}
	const q = `UPDATE runs SET status = 'running', error = '', finished_at = 0, labels = ? WHERE id = ?`
	return s.execOne(ctx, "reopening run "+quote(id), q, l, id)
}

// Progress is what a running run did since its last write: step records that
// finished or changed, and the usage paid for meanwhile.
type Progress struct {
	RunID string
	// Create, when set, creates the run (CreateRun) first, in the same transaction: a
	// small run's creation, records and end then cost one commit.
	Create *Run
	Usage  Usage // added to the run's totals, unless Finish sets them
	Steps  []StepRecord
	// Events are retries and rate-limiter waits, appended to the run's events.
	Events []RunEvent
	// Fresh is the writer's word that no record of Steps has a key recorded for the run
	// before: a new run's recorder, which sees every record of the run, says so while
	// each key comes once. The store then need not look for the run's packed records
	// (see Pack) to move them into rows before writing.
	Fresh bool
	// Pack, with Fresh, lets the store keep the plain records among Steps (a status,
	// an inputs hash, times and an output of at most 64 bytes: a transform's) as one
	// JSON array in step_packs instead of a row each, which costs SQLite about a tenth.
	Pack bool
	// Finish, when set, finishes the run after the records, in the same
	// transaction: a run's last write and its end cost one commit, not two.
	Finish *RunFinish
}

// Empty reports whether p writes nothing.
func (p Progress) Empty() bool {
	return p.Create == nil && len(p.Steps) == 0 && p.Usage == (Usage{}) && len(p.Events) == 0 && p.Finish == nil
}

const addRunUsageQuery = `UPDATE runs SET in_tokens = in_tokens + ?, out_tokens = out_tokens + ?,
	cached_tokens = cached_tokens + ?, neurons = neurons + ?, usd = usd + ?, requests = requests + ?
	WHERE id = ?`

// RecordProgress writes p in one transaction: all or none. The run's usage
// totals grow as calls are paid for, not only when the run finishes, so a run
// killed part-way still shows what it spent and a resume starts its budget
// from there. The run must exist (ErrNotFound otherwise) unless p creates it.
func (s *Store) RecordProgress(ctx context.Context, p Progress) error {
	steps, err := s.newStepWrite(ctx, p.Steps, p.Fresh)
	if err != nil {
		return err
	}
	var create, finish []any
	switch {
	case p.Create != nil && p.Finish != nil:
		// Created finished: one INSERT instead of an INSERT and an UPDATE.
		r, f := *p.Create, *p.Finish
		if err := checkFinalStatus(p.RunID, f.Status); err != nil {
			return err
		}
		r.Status, r.Outputs, r.Error, r.FinishedAt, r.Usage = f.Status, f.Outputs, f.Error, time.Now(), f.Usage
		if create, err = createArgs(r); err != nil {
			return err
		}
	case p.Create != nil:
		if create, err = createArgs(*p.Create); err != nil {
			return err
		}
	case p.Finish != nil:
		if finish, err = finishArgs(p.RunID, *p.Finish); err != nil {
			return err
		}
	}
	return s.update(ctx, func(tx *sql.Tx) error {
		if create != nil {
			st, err := s.txStmt(ctx, tx, createRunQuery)
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, create...); err != nil {
				return createErr(p.Create.ID, err)
			}
		}
		if p.Usage != (Usage{}) && p.Finish == nil { // a finish sets the run's totals
			st, err := s.txStmt(ctx, tx, addRunUsageQuery)
			if err != nil {
				return err
			}
			res, err := st.ExecContext(ctx, append(usageArgs(p.Usage), p.RunID)...)
			if err != nil {
				return fmt.Errorf("recording usage of run %q: %w", p.RunID, err)
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return fmt.Errorf("recording usage of run %q: %w", p.RunID, errors.Join(err, ErrNotFound))
			}
		}
		if len(p.Events) > 0 {
			if err := appendEvents(ctx, tx, p.RunID, p.Events); err != nil {
				return err
			}
		}
		packRun := ""
		if p.Pack {
			packRun = p.RunID
		}
		if err := steps.write(ctx, s, tx, p.Fresh, packRun); err != nil || finish == nil {
			return err
		}
		st, err := s.txStmt(ctx, tx, finishRunQuery)
		if err != nil {
			return err
		}
		res, err := st.ExecContext(ctx, finish...)
		if err != nil {
			return fmt.Errorf("finishing run %q: %w", p.RunID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("finishing run %q: %w", p.RunID, errors.Join(err, ErrNotFound))
		}
		return nil
	})
}

// DeleteRun removes a run with its steps and turns. Outputs it shared with no
// other run stay stored until GC (PruneRuns removes them at once).
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	return s.execOne(ctx, "deleting run "+quote(id), `DELETE FROM runs WHERE id = ?`, id)
}

// execOne runs a write that must touch exactly one row; none is ErrNotFound.
func (s *Store) execOne(ctx context.Context, what, q string, args ...any) error {
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// GetRun returns run id, or an error wrapping ErrNotFound.
func (s *Store) GetRun(ctx context.Context, id string) (Run, error) {
	runs, err := s.runs(ctx, `SELECT `+runCols+` FROM runs WHERE id = ?`, id)
	if err != nil {
		return Run{}, fmt.Errorf("reading run %q: %w", id, err)
	}
	if len(runs) == 0 {
		return Run{}, fmt.Errorf("reading run %q: %w", id, ErrNotFound)
	}
	return runs[0], nil
}

// LastRun returns the newest run of the flow at path flow, or an error
// wrapping ErrNotFound when it has none.
func (s *Store) LastRun(ctx context.Context, flow string) (Run, error) {
	runs, err := s.ListRuns(ctx, ListRunsOpts{Flow: flow, Limit: 1})
	if err != nil {
		return Run{}, err
	}
	if len(runs) == 0 {
		return Run{}, fmt.Errorf("reading last run of %s: %w", flow, ErrNotFound)
	}
	return runs[0], nil
}

// ListRuns returns runs newest first (by start time, then ID).
func (s *Store) ListRuns(ctx context.Context, o ListRunsOpts) ([]Run, error) {
	var where []string
	var args []any
	if o.Flow != "" {
		where, args = append(where, "flow = ?"), append(args, o.Flow)
	}
	if o.Status != "" {
		where, args = append(where, "status = ?"), append(args, o.Status)
	}
	q := `SELECT ` + runCols + ` FROM runs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY started_at DESC, id DESC`
	if o.Limit > 0 {
		q, args = q+` LIMIT ?`, append(args, o.Limit)
	}
	runs, err := s.runs(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	return runs, nil
}

func (s *Store) runs(ctx context.Context, q string, args ...any) ([]Run, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanRun(rows *sql.Rows) (Run, error) {
	var r Run
	var vars, outputs, labels sql.NullString
	var started, finished int64
	dest := []any{&r.ID, &r.Flow, &r.FlowName, &r.FlowHash, &r.Status, &vars, &outputs, &r.Error,
		&started, &finished}
	dest = append(dest, usageDest(&r.Usage)...)
	if err := rows.Scan(append(dest, &r.Engine, &r.Seed, &labels, &r.TraceID)...); err != nil {
		return Run{}, err
	}
	r.StartedAt, r.FinishedAt = fromUnixNano(started), fromUnixNano(finished)
	err := errors.Join(
		decodeJSON("vars", vars, &r.Vars),
		decodeJSON("outputs", outputs, &r.Outputs),
		decodeJSON("labels", labels, &r.Labels))
	if err != nil {
		return Run{}, fmt.Errorf("run %q: %w", r.ID, err)
	}
	return r, nil
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
