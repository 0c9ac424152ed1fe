package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pruneFixture writes runs a1…a5 of flow a.yaml, a day apart (a5 newest, at t0),
// and b1, b2 of b.yaml. Every run records a "same" output shared by all runs and
// a "mine" output of its own.
func pruneFixture(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s := newStore(t)
	add := func(id, flow string, started time.Time) {
		if err := s.CreateRun(ctx, sampleRun(id, flow, started)); err != nil {
			t.Fatal(err)
		}
		err := s.PutSteps(ctx,
			StepRecord{RunID: id, StepID: "same", Item: WholeStep, Status: StepSucceeded, Output: json.RawMessage(`{"v":"shared","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)},
			StepRecord{RunID: id, StepID: "mine", Item: 0, Status: StepSucceeded, Output: json.RawMessage(`{"v":"` + id + `","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AppendTurn(ctx, Turn{RunID: id, StepID: "mine", Item: 0, Role: "user", Content: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 5; i++ {
		add(fmt.Sprintf("a%d", i), "a.yaml", t0.Add(time.Duration(i-5)*24*time.Hour))
	}
	add("b1", "b.yaml", t0.Add(-10*24*time.Hour))
	add("b2", "b.yaml", t0.Add(-9*24*time.Hour))
	return s
}

func idsOf(runs []Run) []string {
	ids := []string{}
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestPruneRuns(t *testing.T) {
	now := t0.Add(time.Hour)
	tests := []struct {
		name        string
		opts        PruneOpts
		wantRemoved []string
		wantKept    int
	}{
		{"keep newest 2 of each flow", PruneOpts{Keep: 2}, []string{"a3", "a2", "a1"}, 4},
		{"keep more than there are", PruneOpts{Keep: 9}, []string{}, 7},
		{"older than 50 hours", PruneOpts{OlderThan: 50 * time.Hour}, []string{"a2", "a1", "b2", "b1"}, 3},
		{"both rules must agree", PruneOpts{Keep: 4, OlderThan: 50 * time.Hour}, []string{"a1"}, 6},
		{"one flow only", PruneOpts{Flow: "b.yaml", Keep: 1}, []string{"b1"}, 1},
		{"protected runs stay", PruneOpts{Keep: 1, Protect: func(r Run) bool { return r.ID == "a2" }}, []string{"a4", "a3", "a1", "b1"}, 3},
	}
	for _, tt := range tests {
		for _, dry := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/dry=%v", tt.name, dry), func(t *testing.T) {
				ctx := context.Background()
				s := pruneFixture(t)
				before, _ := s.ListRuns(ctx, ListRunsOpts{})
				o := tt.opts
				o.Now, o.DryRun = now, dry
				res, err := s.PruneRuns(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.wantRemoved, idsOf(res.Runs)); diff != "" {
					t.Errorf("removed runs (-want +got):\n%s", diff)
				}
				n := len(tt.wantRemoved)
				want := PruneResult{Kept: tt.wantKept, Steps: 2 * n, Turns: n, Outputs: n, OutputBytes: int64(n * len(`{"v":"a1","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`))}
				got := res
				got.Runs, got.DiskBefore, got.DiskAfter = nil, 0, 0
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
				after, _ := s.ListRuns(ctx, ListRunsOpts{})
				switch {
				case dry && len(after) != len(before):
					t.Errorf("dry run removed %d runs", len(before)-len(after))
				case !dry && len(after) != len(before)-n:
					t.Errorf("%d runs left, want %d", len(after), len(before)-n)
				case dry && res.DiskAfter != res.DiskBefore:
					t.Errorf("dry run changed the size on disk: %d → %d", res.DiskBefore, res.DiskAfter)
				}
				for _, r := range after {
					recs, err := s.Steps(ctx, r.ID)
					if err != nil || len(recs) != 2 || recs[0].Output == nil || recs[1].Output == nil {
						t.Errorf("kept run %s lost its outputs: %+v, %v", r.ID, recs, err)
					}
				}
				var blobs int
				if err := s.p.r.QueryRow(`SELECT count(*) FROM blobs`).Scan(&blobs); err != nil {
					t.Fatal(err)
				}
				if wantBlobs := len(after) + 1; blobs != wantBlobs {
					t.Errorf("%d outputs stored, want %d (one per run left plus the shared one)", blobs, wantBlobs)
				}
			})
		}
	}
}

func TestPruneRunsNeedsARule(t *testing.T) {
	s := newStore(t)
	for _, o := range []PruneOpts{{}, {Keep: -1}, {OlderThan: -time.Hour}} {
		if _, err := s.PruneRuns(context.Background(), o); !errors.Is(err, ErrInvalid) {
			t.Errorf("PruneRuns(%+v) = %v; want ErrInvalid", o, err)
		}
	}
}

// TestPruneFreesDisk checks that pruning gives the pages back to the file system
// rather than leaving them on SQLite's free list.
func TestPruneFreesDisk(t *testing.T) {
	sqliteOnly(t)
	ctx := context.Background()
	s := newStore(t)
	for n := range 6 {
		id := fmt.Sprintf("r%d", n)
		if err := s.CreateRun(ctx, sampleRun(id, "f.yaml", t0.Add(time.Duration(n)*time.Minute))); err != nil {
			t.Fatal(err)
		}
		var recs []StepRecord
		for item := range 12 {
			recs = append(recs, StepRecord{RunID: id, StepID: "vectors", Item: item, Status: StepSucceeded, Output: vectorsOutput(100*n + item)})
		}
		if err := s.PutSteps(ctx, recs...); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.PruneRuns(ctx, PruneOpts{Keep: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 5 || res.Outputs != 60 {
		t.Fatalf("removed %d runs and %d outputs; want 5 and 60", len(res.Runs), res.Outputs)
	}
	if freed := res.DiskBefore - res.DiskAfter; freed < res.OutputBytes*9/10 {
		t.Errorf("freed %d bytes on disk (%d → %d) after removing %d bytes of outputs", freed, res.DiskBefore, res.DiskAfter, res.OutputBytes)
	}
	if size, _ := s.DiskSize(); size != res.DiskAfter {
		t.Errorf("DiskSize = %d after prune reported %d", size, res.DiskAfter)
	}
}

func TestGC(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.CreateRun(ctx, sampleRun("r1", "f.yaml", t0)); err != nil {
		t.Fatal(err)
	}
	rec := StepRecord{RunID: "r1", StepID: "gen", Item: WholeStep, Status: StepSucceeded, Output: json.RawMessage(`{"text":"first draft","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)}
	if err := s.PutStep(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rec.Output = json.RawMessage(`{"text":"final"}`) // re-recorded: the first draft is now unreferenced
	if err := s.PutStep(ctx, rec); err != nil {
		t.Fatal(err)
	}
	past, future := t0.Add(-time.Hour), t0.Add(time.Hour)
	for _, e := range []CacheEntry{
		{Key: "old", Value: []byte(`{"x":1}`), ExpiresAt: &past},
		{Key: "live", Value: []byte(`{"x":2}`), ExpiresAt: &future},
		{Key: "forever", Value: []byte(`{"x":3}`)},
	} {
		if err := s.CachePut(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	want := GCResult{ExpiredCache: 1, ExpiredBytes: int64(len(`{"x":1}`)), Outputs: 1, OutputBytes: int64(len(`{"text":"first draft","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`))}
	for _, dry := range []bool{true, false} {
		res, err := s.GC(ctx, GCOpts{Now: t0, DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		got := res
		got.DiskBefore, got.DiskAfter = 0, 0
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GC(dry=%v) (-want +got):\n%s", dry, diff)
		}
	}
	again, err := s.GC(ctx, GCOpts{Now: t0})
	if err != nil || again.ExpiredCache != 0 || again.Outputs != 0 {
		t.Errorf("second GC = %+v, %v; want nothing left to remove", again, err)
	}
	if es := mustList(t, s, CacheFilter{}); len(es) != 2 {
		t.Errorf("%d cache entries after GC, want the 2 unexpired", len(es))
	}
	got, err := s.GetStep(ctx, "r1", "gen", WholeStep)
	if err != nil || string(got.Output) != `{"text":"final"}` {
		t.Errorf("step after GC = %s, %v; want the final output kept", got.Output, err)
	}
}
