package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Batch states recorded in the batches table.
const (
	// BatchSubmitting is written before the batch is sent, without a job: a process that
	// stops before it records the job leaves it, and a resume that finds it knows the
	// provider may have the batch, so it does not send the items again.
	BatchSubmitting = "submitting"
	BatchSubmitted  = "submitted" // sent to the provider; results not yet collected
	BatchCollected  = "collected" // results read and recorded on the items
)

// Batch is an asynchronous batch a step submitted to a provider's batch API. It is
// written before the run waits for the batch: a run killed while waiting is resumed by
// polling Job again, never by submitting the items a second time.
type Batch struct {
	RunID  string
	StepID string
	// Key identifies the batch within the step: a hash of its items' requests and
	// model, so a resume that would send the same requests finds it.
	Key      string
	Provider string // the providers: entry
	Model    string
	Job      json.RawMessage // the provider's handle (providers.BatchJob), JSON
	Items    []int           // for_each indexes, in submission order
	// ItemKeys are, for each of Items, a hash of the request sent for it: a resume whose
	// items are a subset of a recorded batch's (some were recorded before a kill) uses
	// that batch only when its requests are the same.
	ItemKeys    []string
	Status      string
	SubmittedAt time.Time // zero means now
	UpdatedAt   time.Time // zero means now
}

const batchCols = `run_id, step_id, key, provider, model, job, items, item_keys, status, submitted_at, updated_at`

// PutBatch records b, replacing the record of the same run, step and key. The run must
// exist (ErrNotFound otherwise). Only a batch in state BatchSubmitting may have no job.
func (s *Store) PutBatch(ctx context.Context, b Batch) error {
	if b.Status == BatchSubmitting && len(b.Job) == 0 {
		b.Job = json.RawMessage("null")
	}
	if b.RunID == "" || b.StepID == "" || b.Key == "" || len(b.Job) == 0 || !json.Valid(b.Job) {
		return fmt.Errorf("recording batch of step %s: %w: empty run, step or key, or a job that is not JSON", b.StepID, ErrInvalid)
	}
	if b.ItemKeys != nil && len(b.ItemKeys) != len(b.Items) {
		return fmt.Errorf("recording batch of step %s: %w: %d item keys for %d items", b.StepID, ErrInvalid, len(b.ItemKeys), len(b.Items))
	}
	items, err := json.Marshal(b.Items)
	if err != nil {
		return fmt.Errorf("recording batch of step %s: %w", b.StepID, err)
	}
	keys, err := json.Marshal(b.ItemKeys)
	if err != nil {
		return fmt.Errorf("recording batch of step %s: %w", b.StepID, err)
	}
	now := time.Now()
	if b.SubmittedAt.IsZero() {
		b.SubmittedAt = now
	}
	if b.UpdatedAt.IsZero() {
		b.UpdatedAt = now
	}
	if b.Status == "" {
		b.Status = BatchSubmitted
	}
	// An upsert rather than SQLite's INSERT OR REPLACE, which Postgres lacks.
	const q = `INSERT INTO batches (` + batchCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (run_id, step_id, key) DO UPDATE SET provider = excluded.provider, model = excluded.model,
			job = excluded.job, items = excluded.items, item_keys = excluded.item_keys, status = excluded.status,
			submitted_at = excluded.submitted_at, updated_at = excluded.updated_at`
	_, err = s.exec(ctx, q, b.RunID, b.StepID, b.Key, b.Provider, b.Model, string(b.Job), string(items), string(keys), b.Status,
		unixNano(b.SubmittedAt), unixNano(b.UpdatedAt))
	if isForeignKeyViolation(err) {
		err = fmt.Errorf("run %q: %w", b.RunID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("recording batch of step %s: %w", b.StepID, err)
	}
	return nil
}

// DeleteBatch forgets the batch of the run and step under key: a submission the provider
// refused leaves nothing to resume. Deleting a batch that is not recorded is not an error.
func (s *Store) DeleteBatch(ctx context.Context, runID, stepID, key string) error {
	if _, err := s.exec(ctx, `DELETE FROM batches WHERE run_id = ? AND step_id = ? AND key = ?`, runID, stepID, key); err != nil {
		return fmt.Errorf("forgetting batch of step %s: %w", stepID, err)
	}
	return nil
}

// GetBatch returns the batch recorded for run, step and key, or an error wrapping
// ErrNotFound.
func (s *Store) GetBatch(ctx context.Context, runID, stepID, key string) (Batch, error) {
	row, err := s.queryRow(ctx, `SELECT `+batchCols+` FROM batches WHERE run_id = ? AND step_id = ? AND key = ?`, runID, stepID, key)
	var b Batch
	var job, items, keys string
	var sub, upd int64
	if err == nil {
		err = row.Scan(&b.RunID, &b.StepID, &b.Key, &b.Provider, &b.Model, &job, &items, &keys, &b.Status, &sub, &upd)
	}
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err == nil {
		err = json.Unmarshal([]byte(items), &b.Items)
	}
	if err == nil {
		err = json.Unmarshal([]byte(keys), &b.ItemKeys)
	}
	if err != nil {
		return Batch{}, fmt.Errorf("reading batch of step %s: %w", stepID, err)
	}
	b.Job, b.SubmittedAt, b.UpdatedAt = json.RawMessage(job), fromUnixNano(sub), fromUnixNano(upd)
	return b, nil
}

// Batches returns the batches of a run, oldest first.
func (s *Store) Batches(ctx context.Context, runID string) ([]Batch, error) {
	rows, err := s.query(ctx, `SELECT key, step_id FROM batches WHERE run_id = ? ORDER BY submitted_at, rowid`, runID)
	if err != nil {
		return nil, fmt.Errorf("reading batches of run %q: %w", runID, err)
	}
	type ref struct{ key, step string }
	var refs []ref
	for rows.Next() {
		var r ref
		if err := rows.Scan(&r.key, &r.step); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading batches of run %q: %w", runID, err)
		}
		refs = append(refs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading batches of run %q: %w", runID, err)
	}
	out := make([]Batch, 0, len(refs))
	for _, r := range refs {
		b, err := s.GetBatch(ctx, runID, r.step, r.key)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// SetBatchStatus records that a batch moved to status (BatchCollected once its results
// are recorded on the items).
func (s *Store) SetBatchStatus(ctx context.Context, runID, stepID, key, status string) error {
	return s.execOne(ctx, "recording batch status of step "+stepID,
		`UPDATE batches SET status = ?, updated_at = ? WHERE run_id = ? AND step_id = ? AND key = ?`,
		status, unixNano(time.Now()), runID, stepID, key)
}
