package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/testfiles"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/fake"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/embed"
	"github.com/aiflow/aiflow/steps/generate"
	"github.com/aiflow/aiflow/steps/subflow"
)

// TestNonRetryableAttempts: a step that gives up on a non-retryable error reports the
// attempts it made, not its retry: maximum (issue 11 finding 3, follow-up 4).
func TestNonRetryableAttempts(t *testing.T) {
	const src = `
aiflow: 1
providers:
  f: { kind: fake }
steps:
  gen:
    uses: generate
    model: f:m
    prompt: hello
    retry: { attempts: 4, backoff: 1ms }
`
	tests := []struct {
		name string
		fail func(model string, n int) error
		want int
	}{
		{"non-retryable at once", func(string, int) error {
			return &providers.Error{Provider: fake.Kind, Model: "m", Status: 400, Message: "bad request"}
		}, 1},
		{"retryable then non-retryable", func(_ string, n int) error {
			if n == 1 {
				return fake.Unavailable("m")
			}
			return &providers.Error{Provider: fake.Kind, Model: "m", Status: 400, Message: "bad request"}
		}, 2},
		{"retryable every time", func(string, int) error { return fake.Unavailable("m") }, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fake.New()
			p.Fail = tt.fail
			fl := fakeFlow(t, p, src)
			st := openStore(t)
			res, err := fl.Run(context.Background(), engine.RunOptions{Store: st})
			if err == nil {
				t.Fatal("want the step to fail")
			}
			if calls := p.Calls("m"); calls != tt.want {
				t.Fatalf("%d calls, want %d", calls, tt.want)
			}
			if got := res.Steps[0].Attempts; got != tt.want {
				t.Errorf("step reports %d attempts, want the %d made", got, tt.want)
			}
			recs, err := st.Steps(context.Background(), res.RunID)
			if err != nil || len(recs) != 1 {
				t.Fatalf("records %v, %v", recs, err)
			}
			if recs[0].Attempts != tt.want {
				t.Errorf("step record has %d attempts, want %d", recs[0].Attempts, tt.want)
			}
		})
	}
}

// TestResumeRedactedVars: a stored var whose value holds "[REDACTED]" (a secret inside
// it) is never reused as the real input on --resume. A var given again is used; a var
// whose default gives the same value again (with the secret re-read) is re-evaluated;
// any other one makes the resume fail naming it (issue 11 finding 3, follow-up 3).
func TestResumeRedactedVars(t *testing.T) {
	const src = `
aiflow: 1
vars:
  pw: { type: string, secret: true }
  note: { type: string }
  greeting: { type: string, default: 'hi ${ env("AIFLOW_USAGE2_TOKEN") } there' }
  plain: { type: string, default: fixed }
providers:
  f: { kind: fake }
steps:
  gen:
    uses: generate
    model: f:m
    prompt: '${ vars.note } / ${ vars.greeting } / ${ vars.plain }'
    cache: off
`
	tests := []struct {
		name      string
		env       string // AIFLOW_USAGE2_TOKEN on resume
		again     map[string]any
		wantErr   []string // names the resume error must give; nil: the resume runs
		wantInput string
	}{
		{name: "note passed again, default re-read", env: "tok-PLANTED", again: map[string]any{"pw": "pw-PLANTED", "note": "key pw-PLANTED"},
			wantInput: "key pw-PLANTED / hi tok-PLANTED there / fixed"},
		{name: "note not passed again", env: "tok-PLANTED", again: map[string]any{"pw": "pw-PLANTED"}, wantErr: []string{"note"}},
		{name: "nothing passed, env gone", env: "", again: nil, wantErr: []string{"greeting", "note", "pw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AIFLOW_USAGE2_TOKEN", "tok-PLANTED")
			p := fake.New()
			p.Fail = func(_ string, n int) error {
				if n == 1 {
					return errors.New("first process fails")
				}
				return nil
			}
			fl := fakeFlow(t, p, src)
			st := openStore(t)
			first, err := fl.Run(context.Background(), engine.RunOptions{Store: st, Vars: map[string]any{"pw": "pw-PLANTED", "note": "key pw-PLANTED"}})
			if err == nil {
				t.Fatal("first run: want the planted failure")
			}
			run, err := st.GetRun(context.Background(), first.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(run.Vars["note"]) != "key [REDACTED]" || fmt.Sprint(run.Vars["greeting"]) != "hi [REDACTED] there" {
				t.Fatalf("stored vars %v: want the secrets redacted inside them", run.Vars)
			}
			t.Setenv("AIFLOW_USAGE2_TOKEN", tt.env)
			fl = fakeFlow(t, p, src)
			var got string
			_, err = fl.Run(context.Background(), engine.RunOptions{Store: st, Resume: first.RunID, Vars: tt.again,
				Executor: inputSpy{&got}})
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("resume ran (prompt %q); want it refused naming %v", got, tt.wantErr)
				}
				t.Logf("resume refused: %v", err)
				for _, name := range tt.wantErr {
					if !strings.Contains(err.Error(), "--var "+name+"=") {
						t.Errorf("resume error %q does not ask for --var %s=…", err, name)
					}
				}
				if strings.Contains(err.Error(), "PLANTED") {
					t.Errorf("resume error %q holds a secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			if got != tt.wantInput {
				t.Errorf("resumed step got prompt %q, want %q", got, tt.wantInput)
			}
		})
	}
}

// inputSpy records the user prompt a call is given, then runs it.
type inputSpy struct{ got *string }

func (s inputSpy) Execute(ctx context.Context, st steps.Step, call *steps.Call) (steps.Result, error) {
	if call.Prompt != nil {
		*s.got = call.Prompt.User
	}
	return engine.InProcess{}.Execute(ctx, st, call)
}

// billedBatch is an embed whose first fails batch calls are billed $0.001 and then fail
// (retryably when retry is set), as a provider that charged for a request and then
// answered with too few vectors, or timed out, would.
type billedBatch struct {
	inner steps.BatchStep
	retry bool
	mu    sync.Mutex
	fails int
}

func (b *billedBatch) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	res, err := b.RunBatch(ctx, []*steps.Call{call})
	if err != nil {
		return steps.Result{}, err
	}
	return res[0], nil
}

func (b *billedBatch) RunBatch(ctx context.Context, calls []*steps.Call) ([]steps.Result, error) {
	b.mu.Lock()
	fail := b.fails > 0
	b.fails--
	b.mu.Unlock()
	if fail {
		err := error(&providers.Error{Provider: fake.Kind, Model: "e", Status: 400, Message: "got 1 vector for 2 texts"})
		if b.retry {
			err = fake.Unavailable("e")
		}
		return []steps.Result{{Usage: providers.Usage{USD: 0.001, Requests: 1}}}, err
	}
	return b.inner.RunBatch(ctx, calls)
}

// TestBatchBilledFailure: a batched for_each call that fails after it was billed counts
// what it paid in the run's and the step's usage, and records each item of the failed
// batch as failed with its model and attempts, as a non-batched item is (issue 11
// finding 3, follow-up 1). A billed attempt that is retried counts too.
func TestBatchBilledFailure(t *testing.T) {
	const src = `
aiflow: 1
providers:
  f: { kind: fake }
steps:
  vecs:
    uses: billedembed
    model: f:e
    for_each: ${ ["a", "b", "c", "d"] }
    batch: 2
    parallelism: 1
    cache: off
    retry: { attempts: 2, backoff: 1ms }
    with:
      text: ${ each.value }
`
	tests := []struct {
		name       string
		retry      bool
		fails      int
		wantErr    bool
		wantUSD    float64
		wantFailed []int // items recorded as failed
		wantCalls  int   // provider calls
	}{
		{name: "fails for good", fails: 1, wantErr: true, wantUSD: 0.001, wantFailed: []int{0, 1}},
		{name: "billed attempt retried", retry: true, fails: 1, wantUSD: 0.001 + 2*0.0002, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fake.New()
			p.PricePerCall = 0.0002
			bb := &billedBatch{retry: tt.retry, fails: tt.fails}
			kind := embed.Kind
			kind.Name = "billedembed"
			kind.New = func(s *spec.Step) (steps.Step, spec.Diagnostics) {
				inner, diags := embed.Kind.New(s)
				if inner != nil {
					bb.inner = inner.(steps.BatchStep)
				}
				return bb, diags
			}
			reg := steps.NewRegistry()
			if err := reg.Register(kind); err != nil {
				t.Fatal(err)
			}
			preg := providers.NewRegistry()
			if err := preg.Register(p.Info()); err != nil {
				t.Fatal(err)
			}
			f, diags := spec.Parse("flow.yaml", []byte(src))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			fl, diags := engine.Compile(f, engine.Options{Steps: reg, Providers: preg})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			st := openStore(t)
			res, err := fl.Run(context.Background(), engine.RunOptions{Store: st})
			if (err != nil) != tt.wantErr {
				t.Fatalf("run error %v, want error %v", err, tt.wantErr)
			}
			if calls := p.Calls("e"); calls != tt.wantCalls {
				t.Errorf("%d provider calls, want %d", calls, tt.wantCalls)
			}
			if !near(res.Usage.USD, tt.wantUSD) {
				t.Errorf("run usage $%v, want $%v", res.Usage.USD, tt.wantUSD)
			}
			if got := res.Steps[0].Usage.USD; !near(got, tt.wantUSD) {
				t.Errorf("step usage $%v, want $%v", got, tt.wantUSD)
			}
			run, err := st.GetRun(context.Background(), res.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if !near(run.Usage.USD, tt.wantUSD) {
				t.Errorf("recorded run usage $%v, want $%v", run.Usage.USD, tt.wantUSD)
			}
			recs, err := st.Steps(context.Background(), res.RunID)
			if err != nil {
				t.Fatal(err)
			}
			var failed []int
			itemUSD := 0.0
			for _, r := range recs {
				if r.Item < 0 {
					continue
				}
				itemUSD += r.Usage.USD
				if r.Status == engine.StatusFailed {
					failed = append(failed, r.Item)
					if r.Model != "f:e" || r.Attempts != 1 || r.Error == "" {
						t.Errorf("failed item %d recorded with model %q, %d attempts, error %q; want f:e, 1 attempt and the error", r.Item, r.Model, r.Attempts, r.Error)
					}
				}
			}
			sort.Ints(failed)
			if fmt.Sprint(failed) != fmt.Sprint(tt.wantFailed) && (len(failed) > 0 || len(tt.wantFailed) > 0) {
				t.Errorf("items recorded as failed: %v, want %v", failed, tt.wantFailed)
			}
			if !near(itemUSD, tt.wantUSD) {
				t.Errorf("item records sum to $%v, want $%v", itemUSD, tt.wantUSD)
			}
		})
	}
}

// subflowFlows compiles parent.yaml, which pays for one call and then runs child.yaml:
// six calls one at a time, then a last step, wait. Every call costs $0.0002 (max_tokens: 4
// keeps the estimate of a first call, as on the dearest generate model, under $0.0005).
func subflowFlows(t *testing.T, p *fake.Provider, budget string) *engine.Flow {
	t.Helper()
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{
		"parent.yaml": `aiflow: 1
` + budget + `
providers:
  f: { kind: fake }
steps:
  first:
    uses: generate
    model: f:m
    prompt: first
    params: { max_tokens: 4 }
    cache: off
  sub:
    uses: flow
    needs: [first]
    with: { path: child.yaml }
`,
		"child.yaml": `aiflow: 1
providers:
  f: { kind: fake }
steps:
  gen:
    uses: generate
    model: f:m
    for_each: ${ ["a", "b", "c", "d", "e", "f"] }
    parallelism: 1
    prompt: ${ each.value }
    params: { max_tokens: 4 }
    cache: off
  wait:
    uses: generate
    model: f:m
    needs: [gen]
    prompt: last
    params: { max_tokens: 4 }
    cache: off
`,
	})
	reg := steps.NewRegistry()
	for _, k := range []steps.Kind{generate.Kind, subflow.Kind} {
		if err := reg.Register(k); err != nil {
			t.Fatal(err)
		}
	}
	preg := providers.NewRegistry()
	if err := preg.Register(p.Info()); err != nil {
		t.Fatal(err)
	}
	f, diags := spec.ParseFile(filepath.Join(dir, "parent.yaml"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	fl, diags := engine.Compile(f, engine.Options{Steps: reg, Providers: preg})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return fl
}

// TestSubflowSharesParentBudget: the parent's budget (flow budget: or --budget) bounds
// the calls of its sub-flows, counting what the parent already spent; before, a sub-flow
// started a budget of its own from zero, or had none (issue 11 finding 3, follow-up 2).
func TestSubflowSharesParentBudget(t *testing.T) {
	tests := []struct {
		name   string
		budget string
		opt    float64
	}{
		{name: "flow budget", budget: "budget: { usd: 0.0005 }"},
		{name: "--budget", opt: 0.0005},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fake.New()
			p.PricePerCall = 0.0002
			fl := subflowFlows(t, p, tt.budget)
			st := openStore(t)
			res, err := fl.Run(context.Background(), engine.RunOptions{Store: st, BudgetUSD: tt.opt, Parallelism: 1})
			var be *engine.BudgetError
			if !errors.As(err, &be) {
				t.Fatalf("want a budget error, got %v", err)
			}
			// first + one sub-flow call = $0.0004; a third call would cross $0.0005.
			if calls := p.Calls("m"); calls != 2 {
				t.Errorf("%d calls in parent and sub-flow, want 2 within the $0.0005 budget", calls)
			}
			if !near(res.Usage.USD, 0.0004) {
				t.Errorf("parent usage $%v, want $0.0004 (its call and the sub-flow's)", res.Usage.USD)
			}
			run, err := st.GetRun(context.Background(), res.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if !near(run.Usage.USD, 0.0004) {
				t.Errorf("recorded parent usage $%v, want $0.0004", run.Usage.USD)
			}
		})
	}
}

// TestSubflowUsageRecordedAsPaid: a sub-flow's spend reaches the parent run's recorded
// usage as it is paid, not when the sub-flow finishes, so a process killed inside a
// sub-flow leaves it counted (issue 11 finding 3, follow-up 2).
func TestSubflowUsageRecordedAsPaid(t *testing.T) {
	p := fake.New()
	p.PricePerCall = 0.0002
	fl := subflowFlows(t, p, "")
	st := openStore(t)
	const parentID = "r-parent-usage2"
	spy := &usageSpy{st: st, runID: parentID, want: 0.0002 * 7}
	if _, err := fl.Run(context.Background(), engine.RunOptions{Store: st, RunID: parentID, Executor: spy}); err != nil {
		t.Fatal(err)
	}
	if !near(spy.seen, spy.want) {
		t.Errorf("while the sub-flow's last step ran, the parent run had $%v recorded; want the $%v already paid", spy.seen, spy.want)
	}
	run, err := st.GetRun(context.Background(), parentID)
	if err != nil {
		t.Fatal(err)
	}
	if !near(run.Usage.USD, 0.0002*8) {
		t.Errorf("parent run usage $%v at the end, want $%v (each call once)", run.Usage.USD, 0.0002*8)
	}
}

// usageSpy, before running the sub-flow's step wait, reads the parent run's recorded
// usage until it reaches want (the recorder writes in group commits) or a generous
// deadline passes.
type usageSpy struct {
	st    *store.Store
	runID string
	want  float64
	seen  float64
}

func (s *usageSpy) Execute(ctx context.Context, st steps.Step, call *steps.Call) (steps.Result, error) {
	if call.StepID == "wait" {
		deadline := time.Now().Add(5 * time.Second)
		for {
			if run, err := s.st.GetRun(ctx, s.runID); err == nil {
				s.seen = run.Usage.USD
			}
			if s.seen >= s.want-1e-12 || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return engine.InProcess{}.Execute(ctx, st, call)
}

// TestUnpricedModelUnderBudget: with a budget, a call to a model the catalogue cannot
// price, before any call of it was paid, is estimated as the same call on the
// catalogue's dearest model of its task, so the first call cannot overshoot the budget
// (it was estimated at $0); once one is paid, its real cost is the estimate (issue 11
// finding 3, follow-up 5).
func TestUnpricedModelUnderBudget(t *testing.T) {
	src := func(budget string, items string, parallelism ...int) string {
		par := "1"
		if len(parallelism) > 0 {
			par = fmt.Sprint(parallelism[0])
		}
		return `
aiflow: 1
budget: { usd: ` + budget + ` }
providers:
  f: { kind: fake }
steps:
  gen:
    uses: generate
    model: f:m
    for_each: ${ ` + items + ` }
    parallelism: ` + par + `
    prompt: hello ${ each.value }
    cache: off
`
	}
	tests := []struct {
		name      string
		src       string
		wantCalls int
		wantErr   string
	}{
		// $0.0002 a call against $0.0001: the first call alone would overshoot.
		{name: "first call refused", src: src("0.0001", "[1]"), wantCalls: 0, wantErr: "dearest generate model"},
		// The dearest estimate (about $0.08) fits; after it, calls cost what they cost.
		{name: "paid calls then priced by what they cost", src: src("0.1", "[1, 2, 3]"), wantCalls: 3},
		// Calls started together wait for the first one's real cost instead of being
		// refused because the dearest estimates in flight fill the budget.
		{name: "parallel calls wait for the first", src: src("0.1", "[1, 2, 3, 4, 5, 6, 7, 8]", 8), wantCalls: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fake.New()
			p.PricePerCall = 0.0002
			fl := fakeFlow(t, p, tt.src)
			res, err := fl.Run(context.Background(), engine.RunOptions{Store: openStore(t)})
			if calls := p.Calls("m"); calls != tt.wantCalls {
				t.Errorf("%d calls, want %d (spent $%v)", calls, tt.wantCalls, res.Usage.USD)
			}
			if res.BudgetUSD > 0 && res.Usage.USD > res.BudgetUSD {
				t.Errorf("spent $%v, over the $%v budget", res.Usage.USD, res.BudgetUSD)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var be *engine.BudgetError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want a budget error saying %q", err, tt.wantErr)
			}
		})
	}
}
