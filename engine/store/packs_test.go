package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// packSample is a small run's records: slim ones (packed when they all come in the run's
// last write) with and without an inline output, items of a for_each, a step id that
// needs escaping in JSON, and a full record (a model call), which stays a row.
func packSample(runID string) []StepRecord {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Millisecond) }
	v := func(x any) []byte {
		b, err := EncodeValue(x)
		if err != nil {
			panic(err)
		}
		return b
	}
	recs := []StepRecord{
		{StepID: "double", Item: WholeStep, Status: StepSucceeded, InputsHash: "0123abcd", Attempts: 1, StartedAt: at(1), FinishedAt: at(2), Encoded: v(map[string]any{"value": 42.0})},
		{StepID: "skipped", Item: WholeStep, Status: StepSkipped},
		{StepID: `odd "id" \ é`, Item: WholeStep, Status: StepSucceeded, Attempts: 1, StartedAt: at(2), FinishedAt: at(3), Output: json.RawMessage(`{"value":"x"}`)},
		{StepID: "each", Item: 0, Status: StepSucceeded, Attempts: 1, StartedAt: at(3), FinishedAt: at(4), Encoded: v(map[string]any{"value": 0.0})},
		{StepID: "each", Item: 1, Status: StepSucceeded, Attempts: 1, StartedAt: at(3), FinishedAt: at(5), Encoded: v(map[string]any{"value": 2.0})},
		{StepID: "each", Item: 2, Status: StepCached, Attempts: 0, StartedAt: at(4), FinishedAt: at(6), Encoded: v(map[string]any{"value": 4.0})},
		{StepID: "answer", Item: WholeStep, Status: StepSucceeded, Attempts: 2, StartedAt: at(5), FinishedAt: at(9), Model: "cf:@cf/m", Provider: "cf",
			CacheKey: "ck", Output: json.RawMessage(`{"text":"` + strings.Repeat("long answer ", 20) + `"}`), Usage: Usage{InputTokens: 10, OutputTokens: 20, Requests: 2, USD: 0.5}},
	}
	for i := range recs {
		recs[i].RunID = runID
	}
	return recs
}

// viewsOf reads a run through every reader of step records, with the run's id taken out.
func viewsOf(t *testing.T, s *Store, runID string) map[string]any {
	t.Helper()
	ctx := context.Background()
	out := map[string]any{}
	add := func(name string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s of %s: %v", name, runID, err)
		}
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = strings.ReplaceAll(string(js), runID, "RUN")
	}
	steps, err := s.Steps(ctx, runID)
	add("Steps", steps, err)
	for _, r := range steps {
		got, err := s.GetStep(ctx, runID, r.StepID, r.Item)
		add(fmt.Sprintf("GetStep %s %d", r.StepID, r.Item), got, err)
	}
	stats, err := s.StepStats(ctx, runID)
	add("StepStats", stats, err)
	items, err := s.StepItems(ctx, runID, "each", 1, 5)
	add("StepItems", items, err)
	ids, err := s.StepItemIDs(ctx, runID, "each", 10)
	add("StepItemIDs", ids, err)
	n, whole, err := s.StepShape(ctx, runID, "each")
	add("StepShape", []any{n, whole}, err)
	hist, err := s.ItemHistogram(ctx, runID, "each", t0, t0.Add(10*time.Millisecond), 5)
	add("ItemHistogram", hist, err)
	costs, err := s.ModelCosts(ctx, runID)
	add("ModelCosts", costs, err)
	marks, err := s.RunMarks(ctx, []string{runID})
	// The mark less the run's finish time (when it was written), with the rows' and the
	// pack's figures added up.
	f := strings.Split(marks[runID].Mark, ":")
	if len(f) != 10 {
		t.Fatalf("mark %q; want 10 fields", marks[runID].Mark)
	}
	var sum [3]int64
	for i := range 3 {
		var a, b int64
		fmt.Sscan(f[3+i], &a)
		fmt.Sscan(f[6+i], &b)
		sum[i] = a + b
	}
	add("RunMarks", []any{f[1], f[2], sum, f[9]}, err)
	return out
}

// TestPackedRecordsReadLikeRows: a run's slim records written by a writer that vouches
// for their keys are packed, in one row per write, and every reader sees the same as for
// the same records in rows.
func TestPackedRecordsReadLikeRows(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, id := range []string{"rows", "packed"} {
		fin := &RunFinish{Status: RunSucceeded, Outputs: map[string]any{"a": 1.0}, Usage: Usage{Requests: 2, USD: 0.5}}
		run := sampleRun(id, "f.yaml", t0)
		p := Progress{RunID: id, Steps: packSample(id), Finish: fin}
		if id == "rows" { // written by a writer that does not vouch for its keys: rows
			if err := s.CreateRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			if err := s.PutSteps(ctx, p.Steps[:1]...); err != nil {
				t.Fatal(err)
			}
		} else { // in two writes, each vouching for its keys
			first := Progress{RunID: id, Create: &run, Steps: p.Steps[:3], Fresh: true, Pack: true}
			if err := s.RecordProgress(ctx, first); err != nil {
				t.Fatal(err)
			}
			p.Steps, p.Fresh, p.Pack = p.Steps[3:], true, true
		}
		if err := s.RecordProgress(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if got := countRows(t, s, `SELECT count(*) FROM step_packs WHERE run_id = 'packed'`); got != 2 {
		t.Errorf("%d packs of run packed; want 2, one per write", got)
	}
	if got := countRows(t, s, `SELECT count(*) FROM steps WHERE run_id = 'packed'`); got != 1 {
		t.Errorf("%d rows of run packed; want 1, the model call's", got)
	}
	if got := countRows(t, s, `SELECT count(*) FROM step_packs WHERE run_id = 'rows'`); got != 0 {
		t.Errorf("run rows, which had a record before its last write, has %d packs; want none", got)
	}
	// The run created and finished in one write reads as the one finished later.
	var runs [2]Run
	for i, id := range []string{"rows", "packed"} {
		r, err := s.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.FinishedAt.IsZero() {
			t.Errorf("run %s has no finish time", id)
		}
		r.ID, r.FinishedAt = "", time.Time{}
		runs[i] = r
	}
	if d := cmp.Diff(runs[0], runs[1]); d != "" {
		t.Errorf("run created finished reads differently (-finished later +created finished):\n%s", d)
	}
	want, got := viewsOf(t, s, "rows"), viewsOf(t, s, "packed")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("packed records read differently from rows (-rows +packed):\n%s", d)
	}
	if len(want["Steps"].(string)) < 100 {
		t.Errorf("Steps read %s; want the sample's records", want["Steps"])
	}
}

// TestWriteAfterPackMovesItIntoRows: a later write of a packed run's records (a resume)
// first moves the pack into rows, so each key has one record, the newest.
func TestWriteAfterPackMovesItIntoRows(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	run := sampleRun("r1", "f.yaml", t0)
	recs := packSample("r1")
	if err := s.RecordProgress(ctx, Progress{RunID: "r1", Create: &run, Steps: recs[:2], Fresh: true, Pack: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordProgress(ctx, Progress{RunID: "r1", Steps: recs[2:], Finish: &RunFinish{Status: RunFailed}, Fresh: true, Pack: true}); err != nil {
		t.Fatal(err)
	}
	if got := countRows(t, s, `SELECT count(*) FROM step_packs`); got != 2 {
		t.Errorf("%d packs; want 2", got)
	}
	again := recs[0]
	again.Status, again.Encoded = StepCached, nil
	again.Output = json.RawMessage(`{"value":43}`)
	// A resume's last write, which cannot vouch for its keys.
	if err := s.RecordProgress(ctx, Progress{RunID: "r1", Steps: []StepRecord{again}, Finish: &RunFinish{Status: RunSucceeded}}); err != nil {
		t.Fatal(err)
	}
	if got := countRows(t, s, `SELECT count(*) FROM step_packs`); got != 0 {
		t.Errorf("%d packs after a later write; want 0", got)
	}
	if got := countRows(t, s, `SELECT count(*) FROM steps WHERE run_id = 'r1'`); got != len(recs) {
		t.Errorf("%d rows; want %d, one per record", got, len(recs))
	}
	got, err := s.GetStep(ctx, "r1", "double", WholeStep)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StepCached || string(got.Output) != `{"value":43}` {
		t.Errorf("double = %s %s; want the later record", got.Status, got.Output)
	}
	all, err := s.Steps(ctx, "r1")
	if err != nil || len(all) != len(recs) {
		t.Errorf("Steps: %d records (%v); want %d", len(all), err, len(recs))
	}
}

// TestDeletingAPackedRunDeletesItsPack: a pack goes with its run, and pruning counts its
// records.
func TestDeletingAPackedRunDeletesItsPack(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for i, id := range []string{"old", "new"} {
		run := sampleRun(id, "f.yaml", t0.Add(time.Duration(i)*time.Hour))
		if err := s.RecordProgress(ctx, Progress{RunID: id, Create: &run, Steps: packSample(id), Finish: &RunFinish{Status: RunSucceeded}, Fresh: true, Pack: true}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.PruneRuns(ctx, PruneOpts{Keep: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 1 || res.Steps != len(packSample("")) {
		t.Errorf("pruned %+v; want 1 run with its %d records", res, len(packSample("")))
	}
	if err := s.DeleteRun(ctx, "new"); err != nil {
		t.Fatal(err)
	}
	if got := countRows(t, s, `SELECT count(*) FROM step_packs`); got != 0 {
		t.Errorf("%d packs left after deleting their runs", got)
	}
}

func countRows(t *testing.T, s *Store, q string) int {
	t.Helper()
	var n int
	if err := s.p.r.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStepReadsSearchByRun: the readers of one run's records search the steps table and
// step_packs by the run's id through the view run_steps, instead of reading the whole
// state (SQLite plans a correlated subquery over the view that way, so RunMarks reads
// the two halves apart).
func TestStepReadsSearchByRun(t *testing.T) {
	s := newStore(t)
	if s.dialect != SQLite {
		t.Skip("query plans are SQLite's")
	}
	for _, q := range []string{
		`SELECT ` + stepReadCols + stepsFrom + ` WHERE run_id = 'x' ORDER BY started_at = 0, started_at, step_id, item`,
		`SELECT ` + itemCols + ` FROM run_steps WHERE run_id = 'x' AND step_id = 'y' AND item >= 3 ORDER BY item LIMIT 5`,
		`SELECT r.id, ` + stepsMark("steps") + ` || ':' || ` + stepsMark("packed_steps") + ` FROM runs r WHERE r.status = 'running'`,
	} {
		rows, err := s.p.r.Query("EXPLAIN QUERY PLAN " + q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			if step == "SCAN steps" || step == "SCAN p" || strings.HasPrefix(step, "SCAN step_packs") {
				t.Errorf("%s\nreads every record of the state:\n  %s", q, strings.Join(plan, "\n  "))
				break
			}
		}
	}
}

// TestPackKeepsOddIDs: ids that are not valid UTF-8 would change on their way through
// JSON; such a batch is written as rows, and reads back unchanged.
func TestPackKeepsOddIDs(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if s.dialect != SQLite {
		t.Skip("PostgreSQL's text holds only UTF-8, rows or not")
	}
	run := sampleRun("r1", "f.yaml", t0)
	recs := []StepRecord{{RunID: "r1", StepID: "bad\xffid", Item: WholeStep, Status: StepSucceeded}, {RunID: "r1", StepID: "ok", Item: WholeStep, Status: StepSkipped}}
	if err := s.RecordProgress(ctx, Progress{RunID: "r1", Create: &run, Steps: recs, Finish: &RunFinish{Status: RunSucceeded}, Fresh: true, Pack: true}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Steps(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range got {
		ids[r.StepID] = true
	}
	if len(got) != 2 || !ids["bad\xffid"] || !ids["ok"] {
		t.Errorf("read back %v; want the two ids unchanged", ids)
	}
}
