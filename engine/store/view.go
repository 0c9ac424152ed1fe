package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// The read methods below serve the run viewer (aiflow ui): each answers one page of it
// in a query or two whatever the run's size, aggregating items in SQL, so a 10,000-item
// run opens as fast as a small one.

// RunPage returns one page of runs newest first, as ListRuns orders them, skipping
// offset, and how many runs match in all.
func (s *Store) RunPage(ctx context.Context, o ListRunsOpts, offset int) ([]Run, int, error) {
	var where []string
	var args []any
	if o.Flow != "" {
		where, args = append(where, "(flow = ? OR flow_name = ?)"), append(args, o.Flow, o.Flow)
	}
	if o.Status != "" {
		where, args = append(where, "status = ?"), append(args, o.Status)
	}
	cond := ""
	if len(where) > 0 {
		cond = ` WHERE ` + strings.Join(where, " AND ")
	}
	var total int
	row, err := s.queryRow(ctx, `SELECT count(*) FROM runs`+cond, args...)
	if err == nil {
		err = row.Scan(&total)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("counting runs: %w", err)
	}
	limit := o.Limit
	if limit <= 0 {
		limit = noLimit
	}
	q := `SELECT ` + runCols + ` FROM runs` + cond + ` ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?`
	runs, err := s.runs(ctx, q, append(args, limit, max(offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing runs: %w", err)
	}
	return runs, total, nil
}

// StepStat is one step of a run with its items folded together in SQL.
type StepStat struct {
	StepID string
	// Whole is the step's own record (Item WholeStep) without its output; Status is
	// empty when the step has only item records so far.
	Whole    StepRecord
	Items    int            // for_each item records
	ByStatus map[string]int // item records per status
	Models   []string       // distinct models of the step's records
	Usage    Usage          // its items' when it has any (not counted twice), else its own record's
	Attempts int            // over the item records
	// Start and End span all of the step's records (zero when none started).
	Start, End time.Time
}

// StepStats returns every step of a run in order of first start (unstarted last),
// each with its items counted by status and its usage summed.
func (s *Store) StepStats(ctx context.Context, runID string) ([]StepStat, error) {
	// One pass over the run's records, grouped by what the stats tell apart; Go folds
	// the groups into steps. A for_each step's whole-step record repeats the sum of its
	// items' usage: the items count when there are any, the step's own record otherwise.
	const q = `SELECT step_id, status, model, item >= 0, count(*), sum(attempts),
		coalesce(min(CASE WHEN started_at > 0 THEN started_at END), 0), max(finished_at),
		sum(in_tokens), sum(out_tokens), sum(cached_tokens), sum(neurons), sum(usd), sum(requests)
	FROM run_steps WHERE run_id = ? GROUP BY step_id, status, model, item >= 0`
	rows, err := s.query(ctx, q, runID)
	if err != nil {
		return nil, fmt.Errorf("reading steps of run %q: %w", runID, err)
	}
	defer rows.Close()
	var out []StepStat
	idx := map[string]int{}
	var wholeUsage []Usage // per step, parallel to out
	for rows.Next() {
		var step, status, model string
		var isItem bool
		var n, attempts int
		var start, end int64
		var u Usage
		dest := append([]any{&step, &status, &model, &isItem, &n, &attempts, &start, &end}, usageDest(&u)...)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("reading steps of run %q: %w", runID, err)
		}
		i, ok := idx[step]
		if !ok {
			i = len(out)
			idx[step] = i
			out = append(out, StepStat{StepID: step, ByStatus: map[string]int{}, Models: []string{}})
			wholeUsage = append(wholeUsage, Usage{})
		}
		st := &out[i]
		if isItem {
			st.Items += n
			st.ByStatus[status] += n
			st.Attempts += attempts
			st.Usage = addUsage(st.Usage, u)
		} else {
			wholeUsage[i] = addUsage(wholeUsage[i], u)
		}
		if model != "" && !slices.Contains(st.Models, model) {
			st.Models = append(st.Models, model)
		}
		if t := fromUnixNano(start); !t.IsZero() && (st.Start.IsZero() || t.Before(st.Start)) {
			st.Start = t
		}
		if t := fromUnixNano(end); t.After(st.End) {
			st.End = t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading steps of run %q: %w", runID, err)
	}
	for i := range out {
		if out[i].Items == 0 {
			out[i].Usage = wholeUsage[i]
		}
		slices.Sort(out[i].Models)
	}
	sort.SliceStable(out, func(a, b int) bool {
		x, y := out[a], out[b]
		if x.Start.IsZero() != y.Start.IsZero() {
			return !x.Start.IsZero() // unstarted last
		}
		if !x.Start.Equal(y.Start) {
			return x.Start.Before(y.Start)
		}
		return x.StepID < y.StepID
	})
	for i := range out {
		idx[out[i].StepID] = i
	}
	rows.Close()
	wholes, err := s.itemRecords(ctx, `WHERE run_id = ? AND item = -1`, runID)
	if err != nil {
		return nil, fmt.Errorf("reading steps of run %q: %w", runID, err)
	}
	for _, w := range wholes {
		if i, ok := idx[w.StepID]; ok {
			out[i].Whole = w
		}
	}
	return out, nil
}

// itemCols are a step record's columns without its output.
const itemCols = `run_id, step_id, item, status, reason, error, model, provider, attempts, started_at, finished_at,
	in_tokens, out_tokens, cached_tokens, neurons, usd, requests`

// itemRecords reads step records without their outputs.
func (s *Store) itemRecords(ctx context.Context, where string, args ...any) ([]StepRecord, error) {
	rows, err := s.query(ctx, `SELECT `+itemCols+` FROM run_steps `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StepRecord
	for rows.Next() {
		var r StepRecord
		var started, finished int64
		dest := []any{&r.RunID, &r.StepID, &r.Item, &r.Status, &r.Reason, &r.Error, &r.Model, &r.Provider,
			&r.Attempts, &started, &finished}
		if err := rows.Scan(append(dest, usageDest(&r.Usage)...)...); err != nil {
			return nil, err
		}
		r.StartedAt, r.FinishedAt = fromUnixNano(started), fromUnixNano(finished)
		out = append(out, r)
	}
	return out, rows.Err()
}

// WholeSteps returns, without outputs, the whole-step records of run runID (no item
// records): what a watcher of a run's progress reads, however many items its steps have.
func (s *Store) WholeSteps(ctx context.Context, runID string) ([]StepRecord, error) {
	recs, err := s.itemRecords(ctx, `WHERE run_id = ? AND item = -1 ORDER BY started_at, step_id`, runID)
	if err != nil {
		return nil, fmt.Errorf("reading steps of run %q: %w", runID, err)
	}
	return recs, nil
}

// StepItems returns, without outputs, the item records of step stepID in run runID
// from item index from on, at most limit of them (all when limit <= 0), by index.
func (s *Store) StepItems(ctx context.Context, runID, stepID string, from, limit int) ([]StepRecord, error) {
	if limit <= 0 {
		limit = noLimit
	}
	recs, err := s.itemRecords(ctx, `WHERE run_id = ? AND step_id = ? AND item >= ? ORDER BY item LIMIT ?`, runID, stepID, max(from, 0), limit)
	if err != nil {
		return nil, fmt.Errorf("reading items of step %s of run %q: %w", stepID, runID, err)
	}
	return recs, nil
}

// ModelCost is what one model was paid in a run.
type ModelCost struct {
	Model string
	Calls int // step and item records that name the model
	Usage Usage
}

// ModelCosts returns a run's usage by model, costliest first.
func (s *Store) ModelCosts(ctx context.Context, runID string) ([]ModelCost, error) {
	// Items in place of their step's whole-step record, which repeats their sum.
	const q = `SELECT model, count(*), sum(in_tokens), sum(out_tokens), sum(cached_tokens), sum(neurons), sum(usd), sum(requests)
		FROM run_steps s WHERE run_id = ? AND model != '' AND (item >= 0 OR NOT EXISTS (SELECT 1 FROM run_steps i
			WHERE i.run_id = s.run_id AND i.step_id = s.step_id AND i.item >= 0))
		GROUP BY model ORDER BY sum(usd) DESC, model`
	rows, err := s.query(ctx, q, runID)
	if err != nil {
		return nil, fmt.Errorf("reading costs of run %q: %w", runID, err)
	}
	defer rows.Close()
	var out []ModelCost
	for rows.Next() {
		var m ModelCost
		if err := rows.Scan(append([]any{&m.Model, &m.Calls}, usageDest(&m.Usage)...)...); err != nil {
			return nil, fmt.Errorf("reading costs of run %q: %w", runID, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading costs of run %q: %w", runID, err)
	}
	return out, nil
}

// RunMarks returns a short fingerprint of each running run and of each run in also,
// that changes whenever the run or one of its step records does. A viewer polls it to
// learn, cheaply, which runs another process is writing.
func (s *Store) RunMarks(ctx context.Context, also []string) (map[string]RunMark, error) {
	ids, err := json.Marshal(also)
	if err != nil {
		return nil, err
	}
	// The ids travel as one JSON array, which each dialect takes apart its own way.
	jsonIDs := `SELECT value FROM json_each(?)`
	if s.dialect == Postgres {
		jsonIDs = `SELECT json_array_elements_text(CAST(? AS json))`
	}
	q := `SELECT r.id, r.status, r.finished_at || ':' || r.requests || ':' || r.usd || ':' ||
			` + stepsMark("steps") + ` || ':' || ` + stepsMark("packed_steps") + ` ||
			':' || (SELECT count(*) FROM run_events e WHERE e.run_id = r.id)
		FROM runs r WHERE r.status = 'running' OR r.id IN (` + jsonIDs + `)`
	rows, err := s.query(ctx, q, string(ids))
	if err != nil {
		return nil, fmt.Errorf("reading run marks: %w", err)
	}
	defer rows.Close()
	out := map[string]RunMark{}
	for rows.Next() {
		var id string
		var m RunMark
		if err := rows.Scan(&id, &m.Status, &m.Mark); err != nil {
			return nil, fmt.Errorf("reading run marks: %w", err)
		}
		out[id] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading run marks: %w", err)
	}
	return out, nil
}

// stepsMark is RunMarks' fingerprint of run r's records in table (steps, or the view
// packed_steps; not run_steps, whose union SQLite would read whole for a correlated
// subquery). Finish times are summed modulo a prime: their plain sum, in Unix
// nanoseconds, overflows SQLite's integers from six records on.
func stepsMark(table string) string {
	return `(SELECT count(*) || ':' || coalesce(sum(s.finished_at % 1000000007), 0) || ':' || coalesce(sum(s.attempts), 0) FROM ` +
		table + ` s WHERE s.run_id = r.id)`
}

// RunMark is a run's status and fingerprint (see RunMarks).
type RunMark struct {
	Status string
	Mark   string
}

// RunsMark is a fingerprint of the runs table as a whole (how many, the newest start and
// finish), which changes when a run is added, finishes or is deleted.
func (s *Store) RunsMark(ctx context.Context) (string, error) {
	var n, started, finished int64
	row, err := s.queryRow(ctx, `SELECT count(*), coalesce(max(started_at), 0), coalesce(max(finished_at), 0) FROM runs`)
	if err == nil {
		err = row.Scan(&n, &started, &finished)
	}
	if err != nil && err != sql.ErrNoRows {
		return "", fmt.Errorf("reading runs mark: %w", err)
	}
	return fmt.Sprintf("%d:%d:%d", n, started, finished), nil
}

// StepItemIDs returns the item indexes recorded for step stepID of run runID, at most
// limit of them, ascending: an index-only read, for an item picker.
func (s *Store) StepItemIDs(ctx context.Context, runID, stepID string, limit int) ([]int, error) {
	rows, err := s.query(ctx, `SELECT item FROM run_steps WHERE run_id = ? AND step_id = ? AND item >= 0 ORDER BY item LIMIT ?`, runID, stepID, limit)
	if err != nil {
		return nil, fmt.Errorf("reading items of step %s of run %q: %w", stepID, runID, err)
	}
	defer rows.Close()
	ids := []int{}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("reading items of step %s of run %q: %w", stepID, runID, err)
		}
		ids = append(ids, n)
	}
	return ids, rows.Err()
}

// StepShape says how many item records step stepID of run runID has and whether it has
// a whole-step record: an index-only read. A step with neither is ErrNotFound.
func (s *Store) StepShape(ctx context.Context, runID, stepID string) (items int, whole bool, err error) {
	row, err := s.queryRow(ctx, `SELECT count(*) FILTER (WHERE item >= 0), count(*) FILTER (WHERE item = -1)
		FROM run_steps WHERE run_id = ? AND step_id = ?`, runID, stepID)
	var w int
	if err == nil {
		err = row.Scan(&items, &w)
	}
	if err == nil && items == 0 && w == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return 0, false, fmt.Errorf("reading step %s of run %q: %w", stepID, runID, err)
	}
	return items, w > 0, nil
}

func addUsage(a, b Usage) Usage {
	return Usage{InputTokens: a.InputTokens + b.InputTokens, OutputTokens: a.OutputTokens + b.OutputTokens,
		CachedTokens: a.CachedTokens + b.CachedTokens, Neurons: a.Neurons + b.Neurons, USD: a.USD + b.USD, Requests: a.Requests + b.Requests}
}

// ItemHistogram counts the items of step stepID in run runID that finished in each of
// bins equal spans from from to to (a finished item outside falls in the nearest bin):
// a many-item step's throughput over time in one indexed query.
func (s *Store) ItemHistogram(ctx context.Context, runID, stepID string, from, to time.Time, bins int) ([]int, error) {
	if bins <= 0 || !to.After(from) {
		return nil, fmt.Errorf("item histogram: %w: %d bins from %s to %s", ErrInvalid, bins, from, to)
	}
	width := (to.UnixNano() - from.UnixNano() + int64(bins) - 1) / int64(bins)
	rows, err := s.query(ctx, `SELECT min(max((finished_at - ?) / ?, 0), ?), count(*) FROM run_steps
		WHERE run_id = ? AND step_id = ? AND item >= 0 AND finished_at > 0 GROUP BY 1`, from.UnixNano(), width, bins-1, runID, stepID)
	if err != nil {
		return nil, fmt.Errorf("item histogram of step %s of run %q: %w", stepID, runID, err)
	}
	defer rows.Close()
	out := make([]int, bins)
	for rows.Next() {
		var b, n int
		if err := rows.Scan(&b, &n); err != nil {
			return nil, fmt.Errorf("item histogram of step %s of run %q: %w", stepID, runID, err)
		}
		out[b] += n
	}
	return out, rows.Err()
}
