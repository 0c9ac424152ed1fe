package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func viewFixture(t *testing.T) *Store {
	t.Helper()
	s, err := testOpen(t, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	t0 := time.Unix(1000, 0)
	for i, id := range []string{"r1", "r2", "r3"} {
		st := RunSucceeded
		if i == 2 {
			st = RunRunning
		}
		if err := s.CreateRun(ctx, Run{ID: id, Flow: "/f.yaml", FlowName: "f", Status: st, StartedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	// As the engine writes it, the whole-step record of a for_each step repeats the sum
	// of its items' usage.
	recs := []StepRecord{{RunID: "r3", StepID: "fan", Item: WholeStep, Status: StepSucceeded, Model: "p:a", StartedAt: t0, FinishedAt: t0.Add(3 * time.Second),
		Usage: Usage{USD: 2.5, InputTokens: 50, OutputTokens: 5}}}
	for i := range 5 {
		st := StepSucceeded
		if i == 4 {
			st = StepFailed
		}
		m := "p:a"
		if i%2 == 1 {
			m = "p:b"
		}
		recs = append(recs, StepRecord{RunID: "r3", StepID: "fan", Item: i, Status: st, Model: m, Attempts: 2,
			StartedAt: t0.Add(time.Duration(i) * time.Millisecond), FinishedAt: t0.Add(time.Second), Usage: Usage{USD: 0.5, InputTokens: 10, OutputTokens: 1}})
	}
	recs = append(recs, StepRecord{RunID: "r3", StepID: "later", Item: WholeStep, Status: StepPending})
	if err := s.PutSteps(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestViewReads(t *testing.T) {
	s := viewFixture(t)
	ctx := context.Background()
	runs, total, err := s.RunPage(ctx, ListRunsOpts{Limit: 2}, 1)
	if err != nil || total != 3 || len(runs) != 2 || runs[0].ID != "r2" || runs[1].ID != "r1" {
		t.Fatalf("RunPage = %d runs (%v), total %d, %v; want r2, r1 of 3", len(runs), runs, total, err)
	}
	if _, total, _ := s.RunPage(ctx, ListRunsOpts{Status: RunRunning}, 0); total != 1 {
		t.Errorf("running runs = %d, want 1", total)
	}
	stats, err := s.StepStats(ctx, "r3")
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 || stats[0].StepID != "fan" || stats[1].StepID != "later" {
		t.Fatalf("StepStats = %+v, want fan then the unstarted later", stats)
	}
	fan := stats[0]
	if fan.Items != 5 || fan.ByStatus[StepSucceeded] != 4 || fan.ByStatus[StepFailed] != 1 || fan.Attempts != 10 ||
		fan.Usage.USD != 2.5 || fan.Usage.InputTokens != 50 || len(fan.Models) != 2 || fan.Whole.Status != StepSucceeded ||
		fan.End.Sub(fan.Start) != 3*time.Second {
		t.Errorf("fan = %+v", fan)
	}
	if stats[1].Whole.Status != StepPending || stats[1].Items != 0 || !stats[1].Start.IsZero() {
		t.Errorf("later = %+v", stats[1])
	}
	items, err := s.StepItems(ctx, "r3", "fan", 1, 2)
	if err != nil || len(items) != 2 || items[0].Item != 1 || items[1].Item != 2 {
		t.Errorf("StepItems = %+v, %v; want items 1 and 2", items, err)
	}
	if ids, err := s.StepItemIDs(ctx, "r3", "fan", 3); err != nil || len(ids) != 3 || ids[0] != 0 || ids[2] != 2 {
		t.Errorf("StepItemIDs = %v, %v; want 0 1 2", ids, err)
	}
	if n, whole, err := s.StepShape(ctx, "r3", "fan"); err != nil || n != 5 || !whole {
		t.Errorf("StepShape(fan) = %d, %v, %v; want 5 items and a whole record", n, whole, err)
	}
	if _, _, err := s.StepShape(ctx, "r3", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("StepShape(nope) = %v, want ErrNotFound", err)
	}
	// fan's items finish at t0+1s; the step spans t0 to t0+3s
	if h, err := s.ItemHistogram(ctx, "r3", "fan", time.Unix(1000, 0), time.Unix(1003, 0), 3); err != nil || len(h) != 3 || h[1] != 5 || h[0]+h[2] != 0 {
		t.Errorf("ItemHistogram = %v, %v; want [0 5 0]", h, err)
	}
	costs, err := s.ModelCosts(ctx, "r3")
	// Items in place of their step's whole record, which repeats their sum.
	if err != nil || len(costs) != 2 || costs[0].Model != "p:a" || costs[0].Usage.USD != 1.5 || costs[0].Calls != 3 {
		t.Errorf("ModelCosts = %+v, %v; want p:a $1.5 over 3 item records first", costs, err)
	}
}

func TestRunMarksChangeWithSteps(t *testing.T) {
	s := viewFixture(t)
	ctx := context.Background()
	m1, err := s.RunMarks(ctx, []string{"r1"})
	if err != nil || len(m1) != 2 || m1["r3"].Status != RunRunning || m1["r1"].Status != RunSucceeded {
		t.Fatalf("RunMarks = %+v, %v; want the running r3 and the asked-for r1", m1, err)
	}
	if err := s.PutStep(ctx, StepRecord{RunID: "r3", StepID: "fan", Item: 9, Status: StepRunning}); err != nil {
		t.Fatal(err)
	}
	m2, _ := s.RunMarks(ctx, nil)
	if m2["r3"] == m1["r3"] {
		t.Errorf("mark unchanged after a step record: %+v", m2["r3"])
	}
	before, _ := s.RunsMark(ctx)
	if err := s.FinishRun(ctx, "r3", RunFailed, nil, "x", Usage{}); err != nil {
		t.Fatal(err)
	}
	after, _ := s.RunsMark(ctx)
	if before == after {
		t.Errorf("runs mark unchanged after a run finished: %s", after)
	}
}

func TestRunEventsDeletedWithRun(t *testing.T) {
	s := viewFixture(t)
	ctx := context.Background()
	at := time.Unix(1001, 0)
	err := s.RecordProgress(ctx, Progress{RunID: "r3", Events: []RunEvent{
		{Kind: EventRetry, StepID: "fan", Item: 1, Attempt: 1, At: at, Wait: time.Second, Class: "rate_limit", Error: "HTTP 429"},
		{Kind: EventRateWait, StepID: "fan", Item: 2, At: at, Wait: 2 * time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordProgress(ctx, Progress{RunID: "r3", Events: []RunEvent{{Kind: "bogus", StepID: "fan"}}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown kind: %v, want ErrInvalid", err)
	}
	evs, total, err := s.RunEvents(ctx, "r3", 1)
	if err != nil || total != 2 || len(evs) != 1 || evs[0].Kind != EventRetry || evs[0].Wait != time.Second || !evs[0].At.Equal(at) {
		t.Fatalf("RunEvents = %+v (total %d), %v", evs, total, err)
	}
	if err := s.DeleteRun(ctx, "r3"); err != nil {
		t.Fatal(err)
	}
	if _, total, _ := s.RunEvents(ctx, "r3", 0); total != 0 {
		t.Errorf("%d events left after the run was deleted", total)
	}
}

func TestRunEventsPrunedWithRun(t *testing.T) {
	s := viewFixture(t)
	ctx := context.Background()
	ev := []RunEvent{{Kind: EventRateWait, StepID: "a", Item: WholeStep, At: time.Unix(1000, 0), Wait: time.Second}}
	for _, id := range []string{"r1", "r2"} {
		if err := s.RecordProgress(ctx, Progress{RunID: id, Events: ev}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PruneRuns(ctx, PruneOpts{Keep: 2, Protect: func(r Run) bool { return r.Status == RunRunning }}); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := s.RunEvents(ctx, "r1", 0); n != 0 {
		t.Errorf("pruned run r1 keeps %d events", n)
	}
	if _, n, _ := s.RunEvents(ctx, "r2", 0); n != 1 {
		t.Errorf("kept run r2 has %d events, want 1", n)
	}
}

// BenchmarkStepStats10k reads the step stats of a run with a 10,000-item step, what
// the run viewer does on every open of a run and its timeline.
func BenchmarkStepStats10k(b *testing.B) {
	s, err := testOpen(b, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.CreateRun(ctx, Run{ID: "r", Flow: "f"}); err != nil {
		b.Fatal(err)
	}
	t0 := time.Unix(1000, 0)
	recs := []StepRecord{{RunID: "r", StepID: "each", Item: WholeStep, Status: StepSucceeded, StartedAt: t0, FinishedAt: t0.Add(time.Hour)}}
	for i := range 10000 {
		recs = append(recs, StepRecord{RunID: "r", StepID: "each", Item: i, Status: StepSucceeded, Model: "p:m", Attempts: 1,
			Output:    []byte(`{"value":"an output long enough to be stored in the blobs table, not inline in the row"}`),
			StartedAt: t0.Add(time.Duration(i) * time.Millisecond), FinishedAt: t0.Add(time.Duration(i+5) * time.Millisecond), Usage: Usage{USD: 0.001, InputTokens: 10}})
	}
	if err := s.PutSteps(ctx, recs...); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		st, err := s.StepStats(ctx, "r")
		if err != nil || len(st) != 1 || st[0].Items != 10000 {
			b.Fatalf("%+v, %v", st, err)
		}
	}
}

// TestRunMarksOfARunWithManySteps: the fingerprint summed the records' finish times in
// Unix nanoseconds, which overflows SQLite's integers from six records on (today's times
// are about 1.8e18), so the run viewer's live updates failed for any running run past
// its fifth step.
func TestRunMarksOfARunWithManySteps(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	if err := s.CreateRun(ctx, sampleRun("r1", "f.yaml", now)); err != nil {
		t.Fatal(err)
	}
	var recs []StepRecord
	for i := range 50 {
		recs = append(recs, StepRecord{RunID: "r1", StepID: "s", Item: i, Status: StepSucceeded, StartedAt: now, FinishedAt: now.Add(time.Duration(i) * time.Second)})
	}
	if err := s.PutSteps(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	before, err := s.RunMarks(ctx, nil)
	if err != nil {
		t.Fatalf("RunMarks of a running run with 50 finished records: %v", err)
	}
	recs[7].FinishedAt = recs[7].FinishedAt.Add(time.Millisecond)
	if err := s.PutStep(ctx, recs[7]); err != nil {
		t.Fatal(err)
	}
	after, err := s.RunMarks(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if before["r1"].Mark == after["r1"].Mark {
		t.Errorf("the mark %q did not change when a record's finish time did", before["r1"].Mark)
	}
}

// TestWholeSteps: a watcher of a run's progress reads its whole-step records, without
// outputs and without the items.
func TestWholeSteps(t *testing.T) {
	ctx := context.Background()
	s := withRun(t)
	recs := []StepRecord{
		{RunID: "r1", StepID: "b", Item: WholeStep, Status: StepSucceeded, StartedAt: t0.Add(2 * time.Second), Output: json.RawMessage(`{"v":1}`), Model: "m"},
		{RunID: "r1", StepID: "a", Item: WholeStep, Status: StepFailed, Error: "boom", StartedAt: t0.Add(time.Second)},
	}
	for i := range 50 {
		recs = append(recs, StepRecord{RunID: "r1", StepID: "b", Item: i, Status: StepSucceeded, StartedAt: t0, Output: json.RawMessage(`{"v":2}`)})
	}
	if err := s.PutSteps(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	got, err := s.WholeSteps(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].StepID != "a" || got[0].Error != "boom" || got[1].StepID != "b" || got[1].Model != "m" || got[1].Output != nil {
		t.Errorf("WholeSteps = %+v; want a (failed, boom) then b (model m), no outputs", got)
	}
}
