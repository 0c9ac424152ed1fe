package temporal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/engine/temporal"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/fake"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/chunk"
	"github.com/aiflow/aiflow/steps/embed"
	"github.com/aiflow/aiflow/steps/generate"
	"github.com/aiflow/aiflow/steps/transform"
)

// compiler compiles flow sources against the test registries: the real step kinds and
// the fake provider p.
func compiler(p *fake.Provider) func(file string, src []byte, _ []string) (*engine.Flow, error) {
	return func(file string, src []byte, _ []string) (*engine.Flow, error) {
		reg := steps.NewRegistry()
		for _, k := range []steps.Kind{generate.Kind, transform.Kind, chunk.Kind, embed.Kind} {
			if err := reg.Register(k); err != nil {
				return nil, err
			}
		}
		preg := providers.NewRegistry()
		if err := preg.Register(p.Info()); err != nil {
			return nil, err
		}
		f, diags := spec.Parse(file, src)
		if diags.HasErrors() {
			return nil, diags.Err()
		}
		fl, diags := engine.Compile(f, engine.Options{Steps: reg, Providers: preg})
		if diags.HasErrors() {
			return nil, diags.Err()
		}
		return fl, nil
	}
}

// tRun is one run on the test workflow environment (no server): the outcome, how many
// times each activity was started, and the run store.
type tRun struct {
	out      *temporal.Outcome
	err      error
	started  map[string]int
	attempts map[string]int // highest attempt seen per activity type
	st       *store.Store
	reads    int64 // step records the activities read from the store
}

func runOnSuite(t *testing.T, p *fake.Provider, src string, vars map[string]any, parallelism int) tRun {
	t.Helper()
	return runBundleOnSuite(t, compiler(p), nil, temporal.Bundle{FlowFile: "flow.yaml", Source: []byte(src), Vars: vars}, parallelism)
}

// runBundleOnSuite runs bundle b of flow fl (nil: compiled from the bundle) on the test
// workflow environment, its workers compiling with compile.
func runBundleOnSuite(t *testing.T, compile func(file string, src []byte, allow []string) (*engine.Flow, error), fl *engine.Flow, b temporal.Bundle, parallelism int, tweak ...func(*temporal.Input)) tRun {
	t.Helper()
	dir := t.TempDir()
	if fl == nil {
		var err error
		if fl, err = compile(b.FlowFile, b.Source, nil); err != nil {
			t.Fatal(err)
		}
	}
	in, err := temporal.NewInput(temporal.Submission{Flow: fl, Bundle: b, RunID: store.NewRunID(), StateDir: dir, Parallelism: parallelism}, "")
	if err != nil {
		t.Fatal(err)
	}
	if bu := fl.Spec.Budget; bu != nil {
		in.BudgetUSD = bu.USD
	}
	for _, f := range tweak {
		f(&in)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(2 * time.Minute)
	// The test environment runs activities on the workflow's goroutines; on a loaded
	// machine one can take longer than the 1 s deadlock detector allows.
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	acts := &temporal.Activities{Compile: compile, BundleDir: t.TempDir()}
	defer acts.Close()
	temporal.RegisterWorkflows(env)
	env.RegisterActivity(acts)
	var mu sync.Mutex
	r := tRun{started: map[string]int{}, attempts: map[string]int{}}
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		mu.Lock()
		defer mu.Unlock()
		r.started["local:"+info.ActivityType.Name]++
	})
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		r.started["child:"+info.WorkflowType.Name]++
	})
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		r.started[info.ActivityType.Name]++
		r.attempts[info.ActivityType.Name] = max(r.attempts[info.ActivityType.Name], int(info.Attempt))
	})
	env.ExecuteWorkflow(temporal.WorkflowName, in)
	r.reads = temporal.RecordsRead(acts)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if r.err = env.GetWorkflowError(); r.err == nil {
		var out temporal.Outcome
		if err := env.GetWorkflowResult(&out); err != nil {
			t.Fatal(err)
		}
		r.out = &out
	}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r.st = st
	return r
}

// runLocal runs the same flow on the local engine.
func runLocal(t *testing.T, p *fake.Provider, src string, vars map[string]any) (*engine.RunResult, error) {
	t.Helper()
	dir := t.TempDir()
	fl, err := compiler(p)("flow.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return fl.Run(context.Background(), engine.RunOptions{Store: st, StateDir: dir, Vars: vars, Parallelism: 1})
}

type stepView struct{ ID, Status, Reason string }

func stepViews(res *engine.RunResult) []stepView {
	var out []stepView
	for _, s := range res.Steps {
		out = append(out, stepView{s.ID, s.Status, s.Reason})
	}
	return out
}

const dagFlow = `
aiflow: 1
name: dag
vars:
  words: { type: list, default: [alpha, beta, gamma] }
  report: { type: boolean, default: true }
providers:
  f: { kind: fake }
steps:
  upper:
    uses: transform
    for_each: ${ vars.words }
    with: { expr: '${ upper(each.value) }' }
  ask:
    uses: generate
    model: f:m
    for_each: ${ steps.upper.output }
    prompt: ${ each.value.value }
  joined:
    uses: transform
    with: { expr: '${ join(map(steps.ask.output, .text), "|") }' }
  report:
    uses: transform
    when: ${ vars.report }
    with: { expr: '${ len(steps.ask.output) } answers' }
  after_report:
    uses: transform
    with: { expr: '${ steps.report.output.value }!' }
outputs:
  joined: ${ steps.joined.output.value }
  report: ${ steps.report.output?.value }
`

// TestWorkflowMatchesLocalEngine runs flows on the workflow (test environment, no
// server) and on the local engine: the same outputs and step statuses, cheap steps as
// local activities, one activity per for_each item of a provider step.
func TestWorkflowMatchesLocalEngine(t *testing.T) {
	tests := []struct {
		name        string
		vars        map[string]any
		wantOutputs map[string]any
		wantStarted map[string]int
	}{
		{name: "all steps", wantOutputs: map[string]any{"joined": "m: ALPHA|m: BETA|m: GAMMA", "report": "3 answers"},
			wantStarted: map[string]int{"local:RunStep": 4, "local:Prepare": 1, "ExecItems": 3, "local:Finish": 1, "local:FinishRun": 1}},
		{name: "when false skips the step and its dependant", vars: map[string]any{"report": false},
			wantOutputs: map[string]any{"joined": "m: ALPHA|m: BETA|m: GAMMA", "report": nil},
			wantStarted: map[string]int{"local:RunStep": 4, "local:Prepare": 1, "ExecItems": 3, "local:Finish": 1, "local:FinishRun": 1}},
		{name: "empty list", vars: map[string]any{"words": []any{}},
			wantOutputs: map[string]any{"joined": "", "report": "0 answers"},
			wantStarted: map[string]int{"local:RunStep": 4, "local:Prepare": 1, "local:Finish": 1, "local:FinishRun": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runOnSuite(t, fake.New(), dagFlow, tt.vars, 0)
			if r.err != nil {
				t.Fatalf("workflow: %v", r.err)
			}
			local, err := runLocal(t, fake.New(), dagFlow, tt.vars)
			if err != nil {
				t.Fatalf("local: %v", err)
			}
			if d := cmp.Diff(tt.wantOutputs, r.out.Result.Outputs); d != "" {
				t.Errorf("temporal outputs (-want +got):\n%s", d)
			}
			if d := cmp.Diff(local.Outputs, r.out.Result.Outputs); d != "" {
				t.Errorf("outputs differ from the local engine's (-local +temporal):\n%s", d)
			}
			if d := cmp.Diff(stepViews(local), stepViews(r.out.Result)); d != "" {
				t.Errorf("step statuses differ from the local engine's (-local +temporal):\n%s", d)
			}
			if d := cmp.Diff(tt.wantStarted, r.started); d != "" {
				t.Errorf("activities started (-want +got):\n%s", d)
			}
			run, err := r.st.GetRun(context.Background(), r.out.Result.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != store.RunSucceeded || run.Engine != "temporal" {
				t.Errorf("recorded run: status %q engine %q, want succeeded on temporal", run.Status, run.Engine)
			}
		})
	}
}

// TestWorkflowDependencyOrder checks from the run records that no step started before
// every step it needs had finished.
func TestWorkflowDependencyOrder(t *testing.T) {
	r := runOnSuite(t, fake.New(), dagFlow, nil, 0)
	if r.err != nil {
		t.Fatal(r.err)
	}
	recs, err := r.st.Steps(context.Background(), r.out.Result.RunID)
	if err != nil {
		t.Fatal(err)
	}
	whole := map[string]store.StepRecord{}
	first := map[string]time.Time{} // earliest start of any record of the step
	for _, rec := range recs {
		if rec.Item < 0 {
			whole[rec.StepID] = rec
		}
		if f, ok := first[rec.StepID]; !ok || rec.StartedAt.Before(f) {
			first[rec.StepID] = rec.StartedAt
		}
	}
	deps := map[string][]string{"ask": {"upper"}, "joined": {"ask"}, "report": {"ask"}, "after_report": {"report"}}
	for step, ds := range deps {
		for _, d := range ds {
			if first[step].Before(whole[d].FinishedAt) {
				t.Errorf("step %s started at %v, before %s finished at %v", step, first[step], d, whole[d].FinishedAt)
			}
		}
	}
}

const batchFlow = `
aiflow: 1
name: batch
vars:
  texts: { type: list }
providers:
  f: { kind: fake }
steps:
  vec:
    uses: embed
    model: f:e
    for_each: ${ vars.texts }
    with: { text: '${ each.value }' }
    batch: 100
    max_items: 5000
outputs:
  n: ${ len(steps.vec.output) }
  dims: ${ len(steps.vec.output[0].vector) }
`

// TestWorkflowBatchGrouping: 1,000 items with batch: 100 are 10 activities (and 10 provider
// calls), not 1,000; an uneven count gets a last, shorter group.
func TestWorkflowBatchGrouping(t *testing.T) {
	for _, tt := range []struct{ items, want int }{{1000, 10}, {250, 3}, {1, 1}} {
		p := fake.New()
		texts := make([]any, tt.items)
		for i := range texts {
			texts[i] = "text " + itoa(i)
		}
		r := runOnSuite(t, p, batchFlow, map[string]any{"texts": texts}, 0)
		if r.err != nil {
			t.Fatalf("%d items: %v", tt.items, r.err)
		}
		if got := r.started["ExecItems"]; got != tt.want {
			t.Errorf("%d items: %d ExecItems activities, want %d", tt.items, got, tt.want)
		}
		if got := p.Calls("e"); got != tt.want {
			t.Errorf("%d items: %d provider calls, want %d", tt.items, got, tt.want)
		}
		if got := r.out.Result.Outputs["n"]; got != float64(tt.items) && got != tt.items {
			t.Errorf("%d items: output n = %v", tt.items, got)
		}
	}
}

func itoa(n int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

func TestGroups(t *testing.T) {
	tests := []struct {
		n, size int
		want    [][]int
	}{
		{0, 100, [][]int{}},
		{3, 0, [][]int{{0}, {1}, {2}}},
		{5, 2, [][]int{{0, 1}, {2, 3}, {4}}},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, temporal.Groups(tt.n, tt.size)); d != "" {
			t.Errorf("Groups(%d, %d) (-want +got):\n%s", tt.n, tt.size, d)
		}
	}
}

const failFlow = `
aiflow: 1
name: fails
providers:
  f: { kind: fake }
steps:
  ask:
    uses: generate
    model: f:bad
    for_each: ${ ["a", "b"] }
    parallelism: 1
    prompt: ${ each.value }
    retry: { attempts: 3, backoff: 1ms }
  after:
    uses: transform
    with: { expr: '${ len(steps.ask.output) }' }
outputs:
  n: ${ steps.after.output.value }
`

// TestWorkflowNonRetryableError: a provider error that is not worth retrying (an invalid
// request) is tried once, by one activity attempt; the step fails with the local engine's
// message, its dependant is skipped, and the run is failed, not the workflow.
func TestWorkflowNonRetryableError(t *testing.T) {
	bad := func(model string, n int) error {
		return &providers.Error{Provider: fake.Kind, Model: model, Status: 400, Message: "invalid input"}
	}
	p := fake.New()
	p.Fail = bad
	r := runOnSuite(t, p, failFlow, nil, 1)
	if r.err != nil {
		t.Fatalf("workflow failed: %v; a failed run is a result", r.err)
	}
	if got := p.Calls("bad"); got != 1 {
		t.Errorf("%d provider calls, want 1 (not retried)", got)
	}
	if got := r.attempts["ExecItems"]; got != 1 {
		t.Errorf("ExecItems attempt %d, want only the first", got)
	}
	lp := fake.New()
	lp.Fail = bad
	local, lerr := runLocal(t, lp, failFlow, nil)
	if lerr == nil {
		t.Fatal("local run succeeded")
	}
	if r.out.Error != lerr.Error() {
		t.Errorf("error\n got %q\nwant %q (the local engine's)", r.out.Error, lerr.Error())
	}
	if d := cmp.Diff(stepViews(local), stepViews(r.out.Result)); d != "" {
		t.Errorf("step statuses (-local +temporal):\n%s", d)
	}
	if r.out.Result.Status != store.RunFailed {
		t.Errorf("status %q, want failed", r.out.Result.Status)
	}
}

// TestWorkflowRetryableErrorRetriedInEngine: a retryable provider error is retried by the
// engine inside one activity (its Retry-After, fallbacks and paid attempts), not again by
// Temporal on top: attempts are not multiplied.
func TestWorkflowRetryableErrorRetriedInEngine(t *testing.T) {
	p := fake.New()
	p.Fail = func(model string, n int) error { return fake.Unavailable(model) }
	r := runOnSuite(t, p, strings.Replace(failFlow, `["a", "b"]`, `["a"]`, 1), nil, 1)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := p.Calls("bad"); got != 3 {
		t.Errorf("%d provider calls, want the step's 3 attempts", got)
	}
	if got := r.attempts["ExecItems"]; got != 1 {
		t.Errorf("ExecItems attempt %d, want 1: Temporal does not retry what the engine retried", got)
	}
}

const budgetFlow = `
aiflow: 1
budget: { usd: 0.0005 }
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
`

// TestWorkflowBudget: a run stops paying once its budget is spent, as the local engine
// does, although every item is its own activity: the workflow reserves each item's
// estimate before scheduling it, so even with every item in flight at once the run pays
// no more than its budget.
func TestWorkflowBudget(t *testing.T) {
	for _, par := range []int{1, 8} {
		t.Run(fmt.Sprintf("parallelism %d", par), func(t *testing.T) {
			p := fake.New()
			p.PricePerCall = 0.0002
			r := runOnSuite(t, p, budgetFlow, nil, par)
			if r.err != nil {
				t.Fatal(r.err)
			}
			lp := fake.New()
			lp.PricePerCall = 0.0002
			_, lerr := runLocal(t, lp, budgetFlow, nil)
			var be *engine.BudgetError
			if !errors.As(lerr, &be) {
				t.Fatalf("local: want a budget error, got %v", lerr)
			}
			if got, want := p.Calls("m"), lp.Calls("m"); got > want {
				t.Errorf("temporal paid %d calls, local %d: the budget was overspent", got, want)
			}
			if r.out.Result.Status != store.RunFailed || !strings.Contains(r.out.Error, "budget") {
				t.Errorf("status %q error %q, want failed over the budget", r.out.Result.Status, r.out.Error)
			}
			if r.out.Result.Usage.USD > 0.0005+1e-12 {
				t.Errorf("spent $%v, over the $0.0005 budget", r.out.Result.Usage.USD)
			}
		})
	}
}

const readsFlow = `
aiflow: 1
name: reads
vars:
  texts: { type: list }
providers:
  f: { kind: fake }
steps:
  upper:
    uses: transform
    for_each: ${ vars.texts }
    with: { expr: '${ upper(each.value) }' }
  ask:
    uses: generate
    model: f:m
    for_each: ${ steps.upper.output }
    prompt: ${ each.value.value }
outputs:
  n: ${ len(steps.ask.output) }
`

// TestWorkflowStoreReadsGrowLinearly: the activities of an N-item fan-out read about one
// step record per item (their own, to reuse an earlier attempt's) plus a few per step,
// not every record of the run each: 4× the items is about 4× the reads, not 16×.
func TestWorkflowStoreReadsGrowLinearly(t *testing.T) {
	reads := map[int]int64{}
	for _, n := range []int{50, 200} {
		texts := make([]any, n)
		for i := range texts {
			texts[i] = "text " + itoa(i)
		}
		r := runOnSuite(t, fake.New(), readsFlow, map[string]any{"texts": texts}, 0)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if got := r.out.Result.Outputs["n"]; got != float64(n) && got != n {
			t.Fatalf("%d items: output n = %v", n, got)
		}
		reads[n] = r.reads
		// Per item: its own record (ExecItems). Per step and at the end: the run's records
		// (Finish, FinishRun), about 2N + a few each.
		if limit := int64(8*n + 50); r.reads > limit {
			t.Errorf("%d items: the activities read %d step records, want at most %d", n, r.reads, limit)
		}
	}
	if reads[200] > 5*reads[50] {
		t.Errorf("reads grew from %d (50 items) to %d (200 items): faster than the items", reads[50], reads[200])
	}
}

// TestWorkflowChildWorkflows: a step with more item activities than one workflow may
// schedule runs them in child workflows of at most that many each, with the outputs
// and statuses of the local engine and each item executed once; a budget still holds
// across the children.
func TestWorkflowChildWorkflows(t *testing.T) {
	texts := make([]any, 25)
	for i := range texts {
		texts[i] = "text " + itoa(i)
	}
	vars := map[string]any{"texts": texts}
	var children int
	r := runBundleOnSuite(t, compiler(fake.New()), nil, temporal.Bundle{FlowFile: "flow.yaml", Source: []byte(readsFlow), Vars: vars}, 4,
		func(in *temporal.Input) { in.ChildActivities = 10 })
	if r.err != nil {
		t.Fatal(r.err)
	}
	children = r.started["child:"+temporal.ItemsWorkflowName]
	local, err := runLocal(t, fake.New(), readsFlow, vars)
	if err != nil {
		t.Fatal(err)
	}
	lo, _ := json.Marshal(local.Outputs)
	ro, _ := json.Marshal(r.out.Result.Outputs)
	if string(lo) != string(ro) {
		t.Errorf("outputs differ\nlocal:    %s\ntemporal: %s", lo, ro)
	}
	if d := cmp.Diff(stepViews(local), stepViews(r.out.Result)); d != "" {
		t.Errorf("step statuses (-local +temporal):\n%s", d)
	}
	if got := r.started["ExecItems"]; got != 25 {
		t.Errorf("%d ExecItems activities, want 25 (one per item)", got)
	}
	if children != 3 {
		t.Errorf("%d child workflows, want 3 (25 items, at most 10 each)", children)
	}

	p := fake.New()
	p.PricePerCall = 0.0002
	b := strings.Replace(budgetFlow, `${ ["a", "b", "c", "d", "e", "f"] }`, `${ ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"] }`, 1)
	rb := runBundleOnSuite(t, compiler(p), nil, temporal.Bundle{FlowFile: "flow.yaml", Source: []byte(b)}, 8,
		func(in *temporal.Input) { in.ChildActivities = 2 })
	if rb.err != nil {
		t.Fatal(rb.err)
	}
	if rb.out.Result.Usage.USD > 0.0005+1e-12 || p.Calls("m")*2 > 5 {
		t.Errorf("spent $%v in %d calls over child workflows, over the $0.0005 budget", rb.out.Result.Usage.USD, p.Calls("m"))
	}
	if rb.out.Result.Status != store.RunFailed || !strings.Contains(rb.out.Error, "budget") {
		t.Errorf("status %q error %q, want failed over the budget", rb.out.Result.Status, rb.out.Error)
	}
}
