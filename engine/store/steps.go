package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Step statuses.
const (
	StepPending   = "pending"
	StepRunning   = "running"
	StepSucceeded = "succeeded"
	StepFailed    = "failed"
	StepSkipped   = "skipped"
	StepCached    = "cached"
)

// WholeStep is the Item of a record that covers a whole step rather than one
// for_each item.
const WholeStep = -1

// StepRecord is the state of one step, or of one for_each item of a step, in
// one run. A resume reuses the records that finished.
type StepRecord struct {
	RunID      string
	StepID     string
	Item       int    // for_each item index, or WholeStep
	Status     string // one of the Step* statuses
	Reason     string // why, for skipped or cached: "upstream failed", "cache hit"
	InputsHash string
	CacheKey   string
	// Output is the step's output as JSON text. On write it must be valid JSON, and
	// Encoded, when set, takes its place; on read it is always JSON.
	Output json.RawMessage
	// Encoded is the output in the binary value form (EncodeValue, EncodeList). The
	// engine writes outputs this way: no decimal floats to print or parse. On read it
	// holds the stored bytes when they are in that form, nil for JSON text.
	Encoded []byte
	// EncodedSum, when set on write, is the SHA-256 of Encoded, known already (from
	// the cache entry the output was served from), so it is not hashed again.
	EncodedSum []byte
	Error      string
	Model      string
	Provider   string
	Attempts   int
	StartedAt  time.Time
	FinishedAt time.Time
	Usage      Usage
	Meta       map[string]string
}

// stepCols are the columns a step record is written to; output_sum addresses
// the output in the blobs table.
const stepCols = `run_id, step_id, item, status, reason, inputs_hash, cache_key, output_sum, error,
	model, provider, attempts, started_at, finished_at,
	in_tokens, out_tokens, cached_tokens, neurons, usd, requests, meta, output_inline`

// stepReadCols are stepCols as read back, with the output itself in place of its sum.
const stepReadCols = `run_id, step_id, item, status, reason, inputs_hash, cache_key, coalesce(blobs.data, run_steps.output_inline), error,
	model, provider, attempts, started_at, finished_at,
	in_tokens, out_tokens, cached_tokens, neurons, usd, requests, meta`

// stepsFrom reads the view run_steps: the rows of steps and the records packed in
// step_packs alike.
const stepsFrom = ` FROM run_steps LEFT JOIN blobs ON blobs.hash = run_steps.output_sum`

const putStepQuery = `INSERT INTO steps (` + stepCols + `)
	VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)` + stepConflict

const stepConflict = `
	ON CONFLICT (run_id, step_id, item) DO UPDATE SET
		status = excluded.status, reason = excluded.reason, inputs_hash = excluded.inputs_hash,
		cache_key = excluded.cache_key, output_sum = excluded.output_sum, error = excluded.error,
		model = excluded.model, provider = excluded.provider, attempts = excluded.attempts,
		started_at = excluded.started_at, finished_at = excluded.finished_at,
		in_tokens = excluded.in_tokens, out_tokens = excluded.out_tokens,
		cached_tokens = excluded.cached_tokens, neurons = excluded.neurons, usd = excluded.usd,
		requests = excluded.requests, meta = excluded.meta, output_inline = excluded.output_inline`

// putSlimStepQuery is putStepQuery for a record with no reason, cache key, output
// blob, error, model, provider, usage or meta (a transform's, say): the columns left
// out take their defaults, on insert and, through excluded, on update alike, so the
// row is the one putStepQuery writes. Binding 9 values instead of 22 is a third less
// of the cost of recording such a step.
const putSlimStepQuery = `INSERT INTO steps (run_id, step_id, item, status, inputs_hash, attempts, started_at, finished_at, output_inline)
	VALUES (?,?,?,?,?,?,?,?,?)` + stepConflict

// slimStepArgs is how many values putSlimStepQuery takes.
const slimStepArgs = 9

// PutStep inserts or replaces the record keyed by (RunID, StepID, Item). The
// run must exist (ErrNotFound otherwise). The output is stored once by content:
// records of many runs with the same output share one copy.
func (s *Store) PutStep(ctx context.Context, r StepRecord) error {
	return s.PutSteps(ctx, r)
}

// PutSteps writes several records in one transaction: all or none. It costs
// about one PutStep, so the engine can flush many finished items at once.
func (s *Store) PutSteps(ctx context.Context, recs ...StepRecord) error {
	return s.RecordProgress(ctx, Progress{Steps: recs})
}

func stepWriteErr(r StepRecord, err error) error {
	if isForeignKeyViolation(err) {
		return fmt.Errorf("recording step %s: run %q: %w", r.StepID, r.RunID, ErrNotFound)
	}
	return fmt.Errorf("recording step %s: %w", r.StepID, err)
}

// inlineOutputMax is the size up to which an output is kept in its step row instead
// of the blobs table: a blob row, its index entry and the lookup that finds it there
// already cost more than a small output (a transform's {"value": 42}) stored twice.
const inlineOutputMax = 64

// stepCells is what a record's row holds beyond what the record says as it is,
// worked out once per record: its output, stored inline or as a blob, its meta as
// JSON, and whether it is slim (putSlimStepQuery's columns suffice).
type stepCells struct {
	out    blob // to store as a blob: a zero blob when inline or none
	inline []byte
	meta   any
	slim   bool
}

// checkStep checks r and works out its cells.
func checkStep(r *StepRecord) (stepCells, error) {
	var c stepCells
	switch {
	case r.RunID == "" || r.StepID == "":
		return c, fmt.Errorf("%w: empty run or step id", ErrInvalid)
	case r.Item < WholeStep:
		return c, fmt.Errorf("%w: item %d", ErrInvalid, r.Item)
	case !validStepStatus(r.Status):
		return c, fmt.Errorf("%w: unknown step status %q", ErrInvalid, r.Status)
	}
	switch {
	case len(r.Encoded) > 0 && len(r.Encoded) <= inlineOutputMax:
		if !IsEncodedValue(r.Encoded) {
			return c, fmt.Errorf("%w: encoded output is not in the binary value form", ErrInvalid)
		}
		c.inline = r.Encoded
	case len(r.Encoded) > 0:
		if !IsEncodedValue(r.Encoded) {
			return c, fmt.Errorf("%w: encoded output is not in the binary value form", ErrInvalid)
		}
		if len(r.EncodedSum) == sha256.Size {
			c.out = blob{sum: r.EncodedSum, data: r.Encoded}
		} else {
			c.out = newBlob(r.Encoded)
		}
	case len(r.Output) > 0:
		if _, err := rawArg("output", r.Output); err != nil {
			return c, err
		}
		if len(r.Output) <= inlineOutputMax {
			c.inline = r.Output
			break
		}
		c.out = newBlob(r.Output)
	}
	meta, err := encodeJSON("meta", r.Meta)
	if err != nil {
		return c, err
	}
	c.meta = meta
	c.slim = c.out.sum == nil && meta == nil && r.Reason == "" && r.CacheKey == "" && r.Error == "" && r.Model == "" && r.Provider == "" && r.Usage == (Usage{})
	return c, nil
}

// inlineArg is an inline output as a statement argument: NULL when there is none.
func (c *stepCells) inlineArg() any {
	if c.inline == nil {
		return nil
	}
	return c.inline
}

// appendSlimArgs appends putSlimStepQuery's values for r; runID is r.RunID as a value,
// boxed once for a batch.
func appendSlimArgs(dst []any, r *StepRecord, c *stepCells, runID any) []any {
	return append(dst, runID, r.StepID, r.Item, statusArg(r.Status), r.InputsHash, r.Attempts, unixNano(r.StartedAt), unixNano(r.FinishedAt), c.inlineArg())
}

// appendFullArgs appends putStepQuery's values for r.
func appendFullArgs(dst []any, r *StepRecord, c *stepCells, runID any) []any {
	var outSum any // NULL without a blob
	if c.out.sum != nil {
		outSum = c.out.sum
	}
	dst = append(dst, runID, r.StepID, r.Item, statusArg(r.Status), r.Reason, r.InputsHash, r.CacheKey, outSum, r.Error,
		r.Model, r.Provider, r.Attempts, unixNano(r.StartedAt), unixNano(r.FinishedAt))
	dst = append(dst, usageArgs(r.Usage)...)
	return append(dst, c.meta, c.inlineArg())
}

// statusArg is a step status as a statement argument, boxed without an allocation.
func statusArg(s string) any {
	switch s {
	case StepSucceeded:
		return StepSucceeded
	case StepCached:
		return StepCached
	case StepSkipped:
		return StepSkipped
	case StepFailed:
		return StepFailed
	case StepRunning:
		return StepRunning
	case StepPending:
		return StepPending
	}
	return s
}

func validStepStatus(s string) bool {
	switch s {
	case StepPending, StepRunning, StepSucceeded, StepFailed, StepSkipped, StepCached:
		return true
	}
	return false
}

// Steps returns every record of a run: started ones by start time, then the
// unstarted (pending) ones; ties by step ID, then item.
func (s *Store) Steps(ctx context.Context, runID string) ([]StepRecord, error) {
	const q = `SELECT ` + stepReadCols + stepsFrom + ` WHERE run_id = ?
		ORDER BY started_at = 0, started_at, step_id, item`
	recs, err := s.steps(ctx, q, runID)
	if err != nil {
		return nil, fmt.Errorf("reading steps of run %q: %w", runID, err)
	}
	return recs, nil
}

// GetStep returns one record, or an error wrapping ErrNotFound.
func (s *Store) GetStep(ctx context.Context, runID, stepID string, item int) (StepRecord, error) {
	const q = `SELECT ` + stepReadCols + stepsFrom + ` WHERE run_id = ? AND step_id = ? AND item = ?`
	recs, err := s.steps(ctx, q, runID, stepID, item)
	if err == nil && len(recs) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return StepRecord{}, fmt.Errorf("reading step %s[%d] of run %q: %w", stepID, item, runID, err)
	}
	return recs[0], nil
}

func (s *Store) steps(ctx context.Context, q string, args ...any) ([]StepRecord, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StepRecord
	for rows.Next() {
		r, err := scanStep(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	return out, s.resolveItems(ctx, out)
}

// resolveItems puts together the outputs recorded as ItemsValue: the list of the
// step's item outputs, from the records among recs or, when they are not all there
// (GetStep), read for the purpose.
func (s *Store) resolveItems(ctx context.Context, recs []StepRecord) error {
	for i := range recs {
		r := &recs[i]
		n, ok := itemsCount(r.Encoded)
		if !ok {
			continue
		}
		if r.Item != WholeStep {
			return fmt.Errorf("step %s[%d]: an item's output refers to items", r.StepID, r.Item)
		}
		byItem := make(map[int]*StepRecord, n)
		for j := range recs {
			if o := &recs[j]; o.Item >= 0 && o.Item < n && o.StepID == r.StepID && o.RunID == r.RunID {
				byItem[o.Item] = o
			}
		}
		if len(byItem) < n {
			const q = `SELECT ` + stepReadCols + stepsFrom + ` WHERE run_id = ? AND step_id = ? AND item >= 0 AND item < ?`
			items, err := s.steps(ctx, q, r.RunID, r.StepID, n)
			if err != nil {
				return err
			}
			for j := range items {
				byItem[items[j].Item] = &items[j]
			}
		}
		if err := assembleItems(r, n, byItem); err != nil {
			return err
		}
	}
	return nil
}

// assembleItems sets r's output to the list of its n items' outputs.
func assembleItems(r *StepRecord, n int, byItem map[int]*StepRecord) error {
	js := make([]byte, 0, 64*n)
	js = append(js, '[')
	parts := make([][]byte, n)
	for i := range n {
		it := byItem[i]
		if it == nil || it.Output == nil {
			return fmt.Errorf("step %s: output of item %d of %d is missing", r.StepID, i, n)
		}
		if i > 0 {
			js = append(js, ',')
		}
		js = append(js, it.Output...)
		parts[i] = it.Encoded
	}
	r.Output, r.Encoded = append(js, ']'), EncodeList(parts)
	return nil
}

func scanStep(rows *sql.Rows) (StepRecord, error) {
	var r StepRecord
	var output []byte
	var meta sql.NullString
	var started, finished int64
	dest := []any{&r.RunID, &r.StepID, &r.Item, &r.Status, &r.Reason, &r.InputsHash, &r.CacheKey,
		&output, &r.Error, &r.Model, &r.Provider, &r.Attempts, &started, &finished}
	dest = append(dest, usageDest(&r.Usage)...)
	if err := rows.Scan(append(dest, &meta)...); err != nil {
		return StepRecord{}, err
	}
	if _, isItems := itemsCount(output); isItems {
		r.Encoded = output // put together from the items by resolveItems
	} else if IsEncodedValue(output) {
		r.Encoded = output
		out, err := ValueJSON(output)
		if err != nil {
			return StepRecord{}, fmt.Errorf("step %s[%d]: output: %w", r.StepID, r.Item, err)
		}
		r.Output = out
	} else {
		r.Output = rawValue(output)
	}
	r.StartedAt, r.FinishedAt = fromUnixNano(started), fromUnixNano(finished)
	if err := decodeJSON("meta", meta, &r.Meta); err != nil {
		return StepRecord{}, fmt.Errorf("step %s: %w", r.StepID, err)
	}
	return r, nil
}

// stepChunks are the row counts of the multi-row INSERTs a batch of step records is
// written with, largest first: a flush of 100 records is one statement of 64 rows, four
// of 8 and four of one instead of 100 statements. Each statement's fixed cost (binding
// through database/sql, starting and halting the SQLite program) was a third of
// recording a small flow's step; a few fixed sizes keep the statements prepared once.
// The widest, 64 rows of 22 columns, binds 1,408 values: within SQLite's limit of
// 32,766 and PostgreSQL's of 65,535.
var stepChunks = [...]int{64, 8, 1}

// multiStepQueries[slim][i] inserts stepChunks[i] rows (slim: putSlimStepQuery's
// columns, else putStepQuery's), updating the rows that exist.
var multiStepQueries = func() (q [2][len(stepChunks)]string) {
	for i, n := range stepChunks {
		if n == 1 { // the statements prepared at Open
			q[0][i], q[1][i] = putStepQuery, putSlimStepQuery
			continue
		}
		q[0][i] = multiRowInsert(`INSERT INTO steps (`+stepCols+`)`, 22, n) + stepConflict
		q[1][i] = multiRowInsert(`INSERT INTO steps (run_id, step_id, item, status, inputs_hash, attempts, started_at, finished_at, output_inline)`, slimStepArgs, n) + stepConflict
	}
	return q
}()

// multiRowInsert is head followed by VALUES with rows groups of cols placeholders.
func multiRowInsert(head string, cols, rows int) string {
	row := "(?" + strings.Repeat(",?", cols-1) + ")"
	return head + "\n\tVALUES " + row + strings.Repeat(","+row, rows-1)
}

// stepWrite is a batch of step records ready to write: checked, their column values
// bound (a slim record's when it is written as a row, not packed), their statements
// prepared. Of several records with the same key only the last is kept: each one's
// upsert replaces every column, so the last alone gives the same row, and one statement
// may not touch a row twice (PostgreSQL refuses it).
type stepWrite struct {
	recs       []StepRecord
	cells      []stepCells
	outs       []blob // each record's output to store as a blob, or a zero blob
	slim, full rows
}

// rows are the flat column values of records written with one column list.
type rows struct {
	args []any
	recs []int // the record (index in stepWrite.recs) of each row, for errors
}

// newStepWrite checks recs and binds the values of the full ones. It prepares the
// statements the batch needs here, outside any transaction: preparing inside one would
// wait for the writer connection the transaction holds. unique is the caller's word
// that no two records share a key (Progress.Fresh).
func (s *Store) newStepWrite(ctx context.Context, recs []StepRecord, unique bool) (*stepWrite, error) {
	w := &stepWrite{recs: recs}
	if !unique {
		w.recs = lastOfEachKey(recs)
	}
	w.cells = make([]stepCells, len(w.recs))
	w.outs = make([]blob, len(w.recs))
	w.slim.recs = make([]int, 0, len(w.recs))
	var runID any
	for i := range w.recs {
		r := &w.recs[i]
		if i == 0 || r.RunID != w.recs[i-1].RunID {
			runID = r.RunID
		}
		c, err := checkStep(r)
		if err != nil {
			return nil, fmt.Errorf("recording step %s: %w", r.StepID, err)
		}
		w.cells[i], w.outs[i] = c, c.out
		if c.slim {
			w.slim.recs = append(w.slim.recs, i)
			continue
		}
		w.full.args = appendFullArgs(w.full.args, r, &w.cells[i], runID)
		w.full.recs = append(w.full.recs, i)
	}
	for slim, r := range [2]*rows{&w.full, &w.slim} {
		left := len(r.recs)
		for c, n := range stepChunks {
			if left >= n {
				if _, err := s.stmt(ctx, true, multiStepQueries[slim][c]); err != nil {
					return nil, err
				}
				left %= n
			}
		}
	}
	return w, nil
}

// bindSlim binds the values of the slim records, to write them as rows.
func (w *stepWrite) bindSlim() {
	w.slim.args = make([]any, 0, slimStepArgs*len(w.slim.recs))
	var runID any
	for k, i := range w.slim.recs {
		r := &w.recs[i]
		if k == 0 || r.RunID != w.recs[w.slim.recs[k-1]].RunID {
			runID = r.RunID
		}
		w.slim.args = appendSlimArgs(w.slim.args, r, &w.cells[i], runID)
	}
}

// lastOfEachKey returns recs without the records a later one with the same key
// replaces, in order. Without duplicates (the usual case) it is recs itself.
func lastOfEachKey(recs []StepRecord) []StepRecord {
	if len(recs) < 2 {
		return recs
	}
	// A set of 64-bit hashes first: cheaper than keys of two strings, and when no two
	// records hash alike, no two share a key.
	seen := make(map[uint64]struct{}, len(recs))
	for _, r := range recs {
		h := StepKeyHash(r.StepID, r.Item)
		if r.RunID != recs[0].RunID {
			h ^= maphash.String(keySeed, r.RunID) * 31
		}
		seen[h] = struct{}{}
	}
	if len(seen) == len(recs) {
		return recs
	}
	type key struct {
		run, step string
		item      int
	}
	last := make(map[key]int, len(recs))
	for i, r := range recs {
		last[key{r.RunID, r.StepID, r.Item}] = i
	}
	if len(last) == len(recs) {
		return recs
	}
	out := make([]StepRecord, 0, len(last))
	for i, r := range recs {
		if last[key{r.RunID, r.StepID, r.Item}] == i {
			out = append(out, r)
		}
	}
	return out
}

// keySeed hashes record keys (StepKeyHash, and the run in lastOfEachKey).
var keySeed = maphash.MakeSeed()

// StepKeyHash is a 64-bit hash of a record's key within its run, for sets of keys seen
// that need no strings kept (equal keys hash alike; a collision, rare, reads as a repeat).
func StepKeyHash(stepID string, item int) uint64 {
	return maphash.String(keySeed, stepID) ^ uint64(item+1)*0x9e3779b97f4a7c15
}

// write stores the batch's outputs that are not stored yet, then its records, in tx.
// fresh is the caller's word that no record's key is recorded for its run yet
// (Progress.Fresh); otherwise the packs of the batch's runs are first moved into rows,
// so that a key is never both packed and a row. packRun, with fresh, names the run
// whose slim records may go into one step_packs row instead of a row each.
func (w *stepWrite) write(ctx context.Context, s *Store, tx *sql.Tx, fresh bool, packRun string) error {
	if len(w.recs) == 0 {
		return nil
	}
	if !fresh {
		if err := w.unpack(ctx, s, tx); err != nil {
			return err
		}
	} else if packRun != "" {
		packed, err := w.pack(ctx, s, tx, packRun)
		if err != nil {
			return err
		}
		if packed {
			w.slim.recs = nil // no rows of their own
		}
	}
	stored, err := storedBlobs(ctx, tx, w.outs)
	if err != nil {
		return err
	}
	for i, b := range w.outs {
		if b.sum != nil && !stored[string(b.sum)] {
			if err := s.putBlob(ctx, tx, b); err != nil {
				return stepWriteErr(w.recs[i], err)
			}
			stored[string(b.sum)] = true
		}
	}
	if len(w.slim.recs) > 0 {
		w.bindSlim()
	}
	for slim, r := range [2]*rows{&w.full, &w.slim} {
		cols := len(r.args) / max(len(r.recs), 1)
		for done := 0; done < len(r.recs); {
			c := 0
			for stepChunks[c] > len(r.recs)-done {
				c++
			}
			n := stepChunks[c]
			st, err := s.txStmt(ctx, tx, multiStepQueries[slim][c])
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, r.args[done*cols:(done+n)*cols]...); err != nil {
				return stepWriteErr(w.recs[r.recs[done]], err)
			}
			done += n
		}
	}
	return nil
}

// Queries of packed step records (migration 10).
const (
	// putPackQuery adds a pack after the run's last one.
	putPackQuery = `INSERT INTO step_packs (run_id, seq, records, t0)
	SELECT CAST(?1 AS TEXT), coalesce(max(seq), -1) + 1, CAST(?2 AS TEXT), CAST(?3 AS BIGINT) FROM step_packs WHERE run_id = ?1`
	// unpackQuery moves a run's packed records into rows; deletePackQuery then drops the packs.
	unpackQuery = `INSERT INTO steps (run_id, step_id, item, status, inputs_hash, attempts, started_at, finished_at, output_inline)
	SELECT run_id, step_id, item, status, inputs_hash, attempts, started_at, finished_at, output_inline FROM packed_steps WHERE run_id = ?`
	deletePackQuery = `DELETE FROM step_packs WHERE run_id = ?`
)

// pack writes the batch's slim records as one step_packs row of run, when every record
// is run's. It reports whether it did.
func (w *stepWrite) pack(ctx context.Context, s *Store, tx *sql.Tx, run string) (bool, error) {
	if run == "" || len(w.slim.recs) == 0 {
		return false, nil
	}
	for _, r := range w.recs {
		// Only valid UTF-8 goes into the JSON unchanged; rows take any other id.
		if r.RunID != run || !utf8.ValidString(r.StepID) || !utf8.ValidString(r.InputsHash) {
			return false, nil
		}
	}
	st, err := s.txStmt(ctx, tx, putPackQuery)
	if err != nil {
		return false, err
	}
	records, t0 := w.packRecords()
	if _, err := st.ExecContext(ctx, run, records, t0); err != nil {
		return false, stepWriteErr(w.recs[w.slim.recs[0]], err)
	}
	return true, nil
}

// unpack moves the packed records of the batch's runs, if they have any, into rows.
func (w *stepWrite) unpack(ctx context.Context, s *Store, tx *sql.Tx) error {
	for i, r := range w.recs {
		if i > 0 && r.RunID == w.recs[i-1].RunID {
			continue
		}
		st, err := s.txStmt(ctx, tx, unpackQuery)
		if err != nil {
			return err
		}
		res, err := st.ExecContext(ctx, r.RunID)
		if err != nil {
			return fmt.Errorf("unpacking the step records of run %q: %w", r.RunID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			continue
		}
		if st, err = s.txStmt(ctx, tx, deletePackQuery); err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, r.RunID); err != nil {
			return fmt.Errorf("unpacking the step records of run %q: %w", r.RunID, err)
		}
	}
	return nil
}

// packRecords encodes the slim records of w as step_packs.records, a JSON array with,
// per record, [step_id, item, status, inputs_hash, attempts, started_at, finished_at,
// output_inline in hex or null] (the view packed_steps' columns in order), its times in
// nanoseconds from t0, which it returns (null for a time not set).
func (w *stepWrite) packRecords() (records []byte, t0 int64) {
	for _, i := range w.slim.recs {
		if t := unixNano(w.recs[i].StartedAt); t != 0 {
			t0 = t
			break
		}
	}
	b := make([]byte, 0, len(w.slim.recs)*72)
	b = append(b, '[')
	for k, i := range w.slim.recs {
		r, c := &w.recs[i], &w.cells[i]
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = appendJSONString(b, r.StepID)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(r.Item), 10)
		b = append(b, ',')
		b = appendJSONString(b, r.Status)
		b = append(b, ',')
		b = appendJSONString(b, r.InputsHash)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(r.Attempts), 10)
		for _, t := range [2]time.Time{r.StartedAt, r.FinishedAt} {
			b = append(b, ',')
			if n := unixNano(t); n != 0 {
				b = strconv.AppendInt(b, n-t0, 10)
			} else {
				b = append(b, "null"...)
			}
		}
		b = append(b, ',')
		if c.inline != nil {
			b = append(b, '"')
			b = hex.AppendEncode(b, c.inline)
			b = append(b, '"')
		} else {
			b = append(b, "null"...)
		}
		b = append(b, ']')
	}
	return append(b, ']'), t0
}

// appendJSONString appends s as a JSON string. Step ids and hashes are plain ASCII;
// anything else goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
