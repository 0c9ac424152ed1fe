package store

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 12, 1, 18, 15, 3, 123456789, time.UTC)

func sampleRun(id, flow string, started time.Time) Run {
	return Run{
		ID: id, Flow: flow, FlowName: "rag", FlowHash: "h1", Status: RunRunning,
		Vars:      map[string]any{"q": "hello", "n": 3.0, "nested": map[string]any{"k": []any{"a", 1.0}}},
		StartedAt: started, Engine: "aiflow 0.1", Seed: 42,
		Labels: map[string]string{"env": "dev"},
	}
}

func TestRunCRUD(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	r := sampleRun("r1", "flows/rag.yaml", t0)
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRun(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Fatalf("GetRun after CreateRun (-want +got):\n%s", diff)
	}

	usage := Usage{InputTokens: 10, OutputTokens: 20, CachedTokens: 5, Neurons: 1.5, USD: 0.25, Requests: 3}
	outputs := map[string]any{"answer": "42"}
	before := time.Now()
	if err := s.FinishRun(ctx, "r1", RunFailed, outputs, "step x: boom", usage); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetRun(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.FinishedAt.Before(before.Truncate(time.Nanosecond)) {
		t.Errorf("FinishedAt = %v, before FinishRun was called (%v)", got.FinishedAt, before)
	}
	want := r
	want.Status, want.Outputs, want.Error, want.Usage, want.FinishedAt = RunFailed, outputs, "step x: boom", usage, got.FinishedAt
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("GetRun after FinishRun (-want +got):\n%s", diff)
	}

	if err := s.ReopenRun(ctx, "r1", nil); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetRun(ctx, "r1")
	if got.Status != RunRunning || !got.FinishedAt.IsZero() || got.Error != "" {
		t.Errorf("after ReopenRun: status %q, finished %v, error %q", got.Status, got.FinishedAt, got.Error)
	}
	if got.Usage != usage || !cmp.Equal(got.Labels, r.Labels) {
		t.Errorf("after ReopenRun: usage %+v, labels %v; want them kept (%+v, %v)", got.Usage, got.Labels, usage, r.Labels)
	}
	resumer := map[string]string{"pid": "4242", "host": "h"}
	if err := s.ReopenRun(ctx, "r1", resumer); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetRun(ctx, "r1"); !cmp.Equal(got.Labels, resumer) || got.Usage != usage {
		t.Errorf("after ReopenRun with labels: labels %v, usage %+v; want %v and the usage kept", got.Labels, got.Usage, resumer)
	}

	if err := s.DeleteRun(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRun(ctx, "r1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetRun after DeleteRun: err = %v, want ErrNotFound", err)
	}
}

func TestCreateRunDefaults(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	before := time.Now()
	if err := s.CreateRun(ctx, Run{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRun(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != RunRunning || got.StartedAt.Before(before.Truncate(time.Nanosecond)) {
		t.Errorf("defaults: status %q, started %v (created after %v)", got.Status, got.StartedAt, before)
	}
	if got.Vars != nil || got.Outputs != nil || got.Labels != nil {
		t.Errorf("empty maps came back non-nil: %+v", got)
	}
}

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.CreateRun(ctx, sampleRun("taken", "f", t0)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"duplicate id", func() error { return s.CreateRun(ctx, sampleRun("taken", "f", t0)) }, ErrExists},
		{"empty id", func() error { return s.CreateRun(ctx, Run{}) }, ErrInvalid},
		{"unknown status", func() error { return s.CreateRun(ctx, Run{ID: "x", Status: "done"}) }, ErrInvalid},
		{"unencodable vars", func() error {
			return s.CreateRun(ctx, Run{ID: "y", Vars: map[string]any{"f": func() {}}})
		}, ErrInvalid},
		{"get missing", func() error { _, err := s.GetRun(ctx, "nope"); return err }, ErrNotFound},
		{"finish missing", func() error { return s.FinishRun(ctx, "nope", RunSucceeded, nil, "", Usage{}) }, ErrNotFound},
		{"finish as running", func() error { return s.FinishRun(ctx, "taken", RunRunning, nil, "", Usage{}) }, ErrInvalid},
		{"reopen missing", func() error { return s.ReopenRun(ctx, "nope", nil) }, ErrNotFound},
		{"delete missing", func() error { return s.DeleteRun(ctx, "nope") }, ErrNotFound},
		{"last run of unknown flow", func() error { _, err := s.LastRun(ctx, "other.yaml"); return err }, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestListRuns(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	seed := []Run{
		sampleRun("a1", "a.yaml", t0),
		sampleRun("a2", "a.yaml", t0.Add(time.Minute)),
		sampleRun("b1", "b.yaml", t0.Add(30*time.Second)),
		sampleRun("a3", "a.yaml", t0.Add(time.Minute)), // same start as a2: ID breaks the tie
	}
	for _, r := range seed {
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.FinishRun(ctx, "a1", RunSucceeded, nil, "", Usage{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts ListRunsOpts
		want []string
	}{
		{"all newest first", ListRunsOpts{}, []string{"a3", "a2", "b1", "a1"}},
		{"by flow", ListRunsOpts{Flow: "a.yaml"}, []string{"a3", "a2", "a1"}},
		{"limit", ListRunsOpts{Limit: 2}, []string{"a3", "a2"}},
		{"flow and limit", ListRunsOpts{Flow: "b.yaml", Limit: 5}, []string{"b1"}},
		{"by status", ListRunsOpts{Status: RunSucceeded}, []string{"a1"}},
		{"no match", ListRunsOpts{Flow: "c.yaml"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs, err := s.ListRuns(ctx, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, runIDsOf(runs)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("last run", func(t *testing.T) {
		r, err := s.LastRun(ctx, "a.yaml")
		if err != nil || r.ID != "a3" {
			t.Fatalf("LastRun = %q, %v; want a3", r.ID, err)
		}
	})
}

func runIDsOf(runs []Run) []string {
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestNewRunID(t *testing.T) {
	const n = 5000
	ids := make([]string, n)
	seen := map[string]bool{}
	for i := range ids {
		ids[i] = NewRunID()
		if seen[ids[i]] {
			t.Fatalf("duplicate id %s", ids[i])
		}
		seen[ids[i]] = true
	}
	if !sort.StringsAreSorted(ids) {
		t.Errorf("ids not in generation order")
	}
	if got := len(ids[0]); got != len("r-20261201-181503-042f9c1a") {
		t.Errorf("id %q has length %d", ids[0], got)
	}
}

func TestRunIDParts(t *testing.T) {
	tests := []struct {
		name string
		p    runIDParts
		want string
	}{
		{"example", runIDParts{ms: t0.UnixMilli(), rand: 0xf9c1a}, "r-20261201-181503-123f9c1a"},
		{"zero padded", runIDParts{ms: t0.Truncate(time.Second).UnixMilli() + 7, rand: 0xa}, "r-20261201-181503-0070000a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("next overflows into the next millisecond", func(t *testing.T) {
		p := runIDParts{ms: 1000, rand: 1<<20 - 1}
		if n := p.next(); n != (runIDParts{ms: 1001}) || !p.less(n) || p.next().String() <= p.String() {
			t.Errorf("next(%+v) = %+v", p, n)
		}
	})
}

// TestRecordProgress: usage is added to the run's totals as it is recorded, in the same
// transaction as the step records, so a run killed before FinishRun still shows what it
// paid (issue 11 finding 3).
func TestRecordProgress(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.CreateRun(ctx, sampleRun("r1", "f.yaml", t0)); err != nil {
		t.Fatal(err)
	}
	a := Usage{InputTokens: 10, OutputTokens: 2, CachedTokens: 1, Neurons: 0.5, USD: 0.001, Requests: 1}
	b := Usage{InputTokens: 7, OutputTokens: 3, USD: 0.002, Requests: 2}
	step := StepRecord{RunID: "r1", StepID: "gen", Item: WholeStep, Status: StepSucceeded, Output: []byte(`"x"`), Usage: a}
	steps := []Progress{
		{RunID: "r1", Usage: a, Steps: []StepRecord{step}},
		{RunID: "r1", Usage: b}, // a billed call whose step failed: usage only
		{RunID: "r1"},           // nothing: a no-op
	}
	for _, p := range steps {
		if err := s.RecordProgress(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetRun(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	want := Usage{InputTokens: 17, OutputTokens: 5, CachedTokens: 1, Neurons: 0.5, USD: 0.003, Requests: 3}
	if got.Usage.USD < want.USD-1e-12 || got.Usage.USD > want.USD+1e-12 {
		t.Errorf("usd = %v, want %v", got.Usage.USD, want.USD)
	}
	got.Usage.USD = want.USD
	if got.Usage != want || got.Status != RunRunning {
		t.Errorf("run usage %+v, status %s; want %+v while still running", got.Usage, got.Status, want)
	}
	if _, err := s.GetStep(ctx, "r1", "gen", WholeStep); err != nil {
		t.Errorf("step record not written: %v", err)
	}

	t.Run("all or none", func(t *testing.T) {
		bad := StepRecord{RunID: "r1", StepID: "gen", Item: WholeStep, Status: "bogus"}
		if err := s.RecordProgress(ctx, Progress{RunID: "r1", Usage: a, Steps: []StepRecord{bad}}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", err)
		}
		orphan := StepRecord{RunID: "nope", StepID: "gen", Item: WholeStep, Status: StepSucceeded}
		if err := s.RecordProgress(ctx, Progress{RunID: "r1", Usage: a, Steps: []StepRecord{orphan}}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
		if again, _ := s.GetRun(ctx, "r1"); again.Usage.Requests != want.Requests {
			t.Errorf("requests = %d after failed writes, want %d unchanged", again.Usage.Requests, want.Requests)
		}
	})
	t.Run("unknown run", func(t *testing.T) {
		if err := s.RecordProgress(ctx, Progress{RunID: "nope", Usage: a}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
}

func TestRunTraceID(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	const first = "4bf92f3577b34da6a3ce929d0e0e4736"
	if err := s.CreateRun(ctx, Run{ID: "r1", Flow: "f.yaml", TraceID: first}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRun(ctx, "r1")
	if err != nil || got.TraceID != first {
		t.Fatalf("GetRun: trace id %q, err %v; want %q", got.TraceID, err, first)
	}
	const resumed = "0af7651916cd43dd8448eb211c80319c"
	if err := s.SetRunTraceID(ctx, "r1", resumed); err != nil {
		t.Fatal(err)
	}
	runs, err := s.ListRuns(ctx, ListRunsOpts{})
	if err != nil || len(runs) != 1 || runs[0].TraceID != resumed {
		t.Fatalf("ListRuns after SetRunTraceID: %+v, %v; want trace id %q", runs, err, resumed)
	}
	if err := s.SetRunTraceID(ctx, "nope", resumed); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetRunTraceID on a missing run: %v, want ErrNotFound", err)
	}
}

// TestRecordProgressFinishes: a Progress with Finish writes the run's last records and
// its end in one transaction (issue 18: a commit less per run); when any part fails,
// neither the records nor the end are written.
func TestRecordProgressFinishes(t *testing.T) {
	ctx := context.Background()
	total := Usage{InputTokens: 3, Requests: 1, USD: 0.5}
	step := StepRecord{RunID: "r1", StepID: "last", Item: WholeStep, Status: StepSucceeded, Output: []byte(`1`)}
	tests := []struct {
		name   string
		p      Progress
		want   error
		status string // of the run afterwards
	}{
		{"records and end", Progress{RunID: "r1", Steps: []StepRecord{step}, Finish: &RunFinish{Status: RunSucceeded, Outputs: map[string]any{"n": 1.0}, Usage: total}}, nil, RunSucceeded},
		{"end alone", Progress{RunID: "r1", Finish: &RunFinish{Status: RunFailed, Error: "step x failed", Usage: total}}, nil, RunFailed},
		{"not a final status", Progress{RunID: "r1", Steps: []StepRecord{step}, Finish: &RunFinish{Status: RunRunning}}, ErrInvalid, RunRunning},
		{"bad record", Progress{RunID: "r1", Steps: []StepRecord{{RunID: "r1", StepID: "last", Item: WholeStep, Status: "bogus"}}, Finish: &RunFinish{Status: RunSucceeded}}, ErrInvalid, RunRunning},
		{"unknown run", Progress{RunID: "nope", Finish: &RunFinish{Status: RunSucceeded}}, ErrNotFound, RunRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := withRun(t)
			err := s.RecordProgress(ctx, tt.p)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			run, err := s.GetRun(ctx, "r1")
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != tt.status {
				t.Errorf("run status %s, want %s", run.Status, tt.status)
			}
			recs, _ := s.Steps(ctx, "r1")
			if wantRecs := len(tt.p.Steps) * btoi(tt.want == nil); len(recs) != wantRecs {
				t.Errorf("%d records written, want %d", len(recs), wantRecs)
			}
			if tt.want != nil {
				return
			}
			f := tt.p.Finish
			if run.Error != f.Error || run.Usage != f.Usage || run.FinishedAt.IsZero() || len(run.Outputs) != len(f.Outputs) {
				t.Errorf("run ended as %+v, want %+v", run, f)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
