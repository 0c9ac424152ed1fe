package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/transform"
)

// probe is a test-only step kind: it sleeps, records when it ran, and fails on request.
type probe struct {
	mu       sync.Mutex
	spans    map[string][2]time.Time
	active   atomic.Int32
	peak     atomic.Int32
	calls    map[string]int
	failures map[string]int // step id → failures left (retryable)
}

func newProbe() *probe {
	return &probe{spans: map[string][2]time.Time{}, calls: map[string]int{}, failures: map[string]int{}}
}

func (p *probe) kind() steps.Kind {
	return steps.Kind{
		Name: "probe", Version: "1", Deterministic: true,
		Inputs: []steps.Field{
			{Name: "sleep", Type: steps.Duration},
			{Name: "fail", Type: steps.String},
			{Name: "value", Type: steps.Any},
		},
		Outputs: []steps.Field{{Name: "value"}},
		New:     func(*spec.Step) (steps.Step, spec.Diagnostics) { return p, nil },
	}
}

func (p *probe) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	n := p.active.Add(1)
	defer p.active.Add(-1)
	for {
		peak := p.peak.Load()
		if n <= peak || p.peak.CompareAndSwap(peak, n) {
			break
		}
	}
	key := call.StepID
	if call.Item >= 0 {
		key = fmt.Sprintf("%s[%d]", call.StepID, call.Item)
	}
	start := time.Now()
	p.mu.Lock()
	p.calls[key]++
	left := p.failures[call.StepID]
	if left > 0 {
		p.failures[call.StepID] = left - 1
	}
	p.mu.Unlock()
	if left > 0 {
		return steps.Result{}, &providers.Error{Provider: "probe", Status: 503, Retryable: true, Message: "unavailable"}
	}
	if d, ok := call.Inputs["sleep"].(time.Duration); ok {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return steps.Result{}, ctx.Err()
		}
	}
	p.mu.Lock()
	p.spans[key] = [2]time.Time{start, time.Now()}
	p.mu.Unlock()
	if msg, _ := call.Inputs["fail"].(string); msg != "" {
		return steps.Result{}, errors.New(msg)
	}
	return steps.Result{Output: map[string]any{"value": call.Inputs["value"]}}, nil
}

func compileTest(t *testing.T, p *probe, src string) *engine.Flow {
	t.Helper()
	reg := steps.NewRegistry()
	if err := reg.Register(p.kind()); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(transform.Kind); err != nil {
		t.Fatal(err)
	}
	f, diags := spec.Parse("test.yaml", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	fl, diags := engine.Compile(f, engine.Options{Steps: reg, Providers: providers.NewRegistry()})
	if diags.HasErrors() {
		t.Fatalf("compile: %v", diags)
	}
	return fl
}

func runTest(t *testing.T, fl *engine.Flow, opts engine.RunOptions) (*engine.RunResult, error) {
	t.Helper()
	if opts.Store == nil {
		st, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		opts.Store = st
	}
	return fl.Run(context.Background(), opts)
}

func statuses(res *engine.RunResult) map[string]string {
	out := map[string]string{}
	for _, s := range res.Steps {
		out[s.ID] = s.Status
	}
	return out
}

func TestIndependentStepsOverlap(t *testing.T) {
	p := newProbe()
	fl := compileTest(t, p, `
aiflow: 1
steps:
  a: { uses: probe, with: { sleep: 80ms } }
  b: { uses: probe, with: { sleep: 80ms } }
  c:
    uses: probe
    needs: [a, b]
`)
	if _, err := runTest(t, fl, engine.RunOptions{Parallelism: 4}); err != nil {
		t.Fatal(err)
	}
	a, b, c := p.spans["a"], p.spans["b"], p.spans["c"]
	if !(a[0].Before(b[1]) && b[0].Before(a[1])) {
		t.Errorf("a %v and b %v did not overlap", a, b)
	}
	if c[0].Before(a[1]) || c[0].Before(b[1]) {
		t.Errorf("c started at %v before its dependencies ended (%v, %v)", c[0], a[1], b[1])
	}
}

func TestParallelismLimit(t *testing.T) {
	for _, limit := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			p := newProbe()
			var b strings.Builder
			b.WriteString("aiflow: 1\nsteps:\n")
			for i := 0; i < 8; i++ {
				fmt.Fprintf(&b, "  s%d: { uses: probe, with: { sleep: 10ms } }\n", i)
			}
			b.WriteString("  fan:\n    uses: probe\n    for_each: ${ [1,2,3,4,5,6,7,8] }\n    with: { sleep: 10ms }\n")
			fl := compileTest(t, p, b.String())
			if _, err := runTest(t, fl, engine.RunOptions{Parallelism: limit}); err != nil {
				t.Fatal(err)
			}
			if got := int(p.peak.Load()); got > limit {
				t.Errorf("peak concurrency %d exceeds the limit %d", got, limit)
			}
		})
	}
}

func TestFailureSkipsDependentsOnly(t *testing.T) {
	p := newProbe()
	fl := compileTest(t, p, `
aiflow: 1
steps:
  bad: { uses: probe, with: { fail: boom } }
  after_bad:
    uses: probe
    with:
      value: ${ steps.bad.output.value }
  after_after: { uses: probe, needs: [after_bad] }
  good: { uses: probe, with: { sleep: 20ms, value: 1 } }
  after_good:
    uses: probe
    with:
      value: ${ steps.good.output.value + 1 }
`)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := runTest(t, fl, engine.RunOptions{Store: st})
	var re *engine.RunError
	if !errors.As(err, &re) || len(re.Steps) != 1 || re.Steps[0].StepID != "bad" {
		t.Fatalf("want one failure of step bad, got %v", err)
	}
	want := map[string]string{"bad": "failed", "after_bad": "skipped", "after_after": "skipped", "good": "succeeded", "after_good": "succeeded"}
	if d := cmp.Diff(want, statuses(res)); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	recs, err := st.Steps(context.Background(), res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]string{}
	for _, r := range recs {
		recorded[r.StepID] = r.Status
		if r.StepID == "after_bad" && r.Reason != "upstream failed: bad" {
			t.Errorf("after_bad reason %q", r.Reason)
		}
	}
	if d := cmp.Diff(want, recorded); d != "" {
		t.Errorf("recorded statuses (-want +got):\n%s", d)
	}
}

func TestFailFastCancelsSiblings(t *testing.T) {
	p := newProbe()
	fl := compileTest(t, p, `
aiflow: 1
steps:
  bad: { uses: probe, with: { sleep: 10ms, fail: boom } }
  slow: { uses: probe, with: { sleep: 10s } }
`)
	start := time.Now()
	res, err := runTest(t, fl, engine.RunOptions{FailFast: true})
	if err == nil {
		t.Fatal("want an error")
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("fail-fast did not cancel the slow sibling")
	}
	if got := statuses(res)["slow"]; got != "failed" && got != "cancelled" {
		t.Errorf("slow: status %q, want failed (cancelled)", got)
	}
}

func TestForEachKeepsOrder(t *testing.T) {
	p := newProbe()
	fl := compileTest(t, p, `
aiflow: 1
steps:
  fan:
    uses: probe
    for_each: ${ [50, 5, 30, 1, 20, 10] }
    parallelism: 6
    with:
      sleep: ${ string(each.value) + "ms" }
      value: ${ each.index * 100 + each.value }
  collect:
    uses: transform
    with:
      expr: ${ map(steps.fan.output, .value) }
outputs:
  values: ${ steps.collect.output.value }
`)
	res, err := runTest(t, fl, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{50.0, 105.0, 230.0, 301.0, 420.0, 510.0}
	if d := cmp.Diff(want, res.Outputs["values"]); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
}

func TestWhenSkips(t *testing.T) {
	p := newProbe()
	fl := compileTest(t, p, `
aiflow: 1
vars:
  lang: { type: string, default: en }
steps:
  tone:
    uses: probe
    when: vars.lang != "en"
    with: { value: 1 }
  after: { uses: probe, needs: [tone] }
  decides:
    uses: probe
    needs: [tone]
    when: ${ steps.tone.status == "skipped" }
    with: { value: fallback }
outputs:
  tone: ${ steps.tone.output?.value }
  decides: ${ steps.decides.output.value }
`)
	res, err := runTest(t, fl, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"tone": "skipped", "after": "skipped", "decides": "succeeded"}
	if d := cmp.Diff(want, statuses(res)); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	if res.Outputs["tone"] != nil || res.Outputs["decides"] != "fallback" {
		t.Errorf("outputs %v", res.Outputs)
	}
}

func TestRetryOnRetryableErrors(t *testing.T) {
	p := newProbe()
	p.failures["flaky"] = 2
	fl := compileTest(t, p, `
aiflow: 1
steps:
  flaky:
    uses: probe
    retry: { attempts: 3, backoff: 1ms }
    with: { value: ok }
`)
	res, err := runTest(t, fl, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.calls["flaky"] != 3 || res.Steps[0].Attempts != 3 {
		t.Errorf("calls %d, attempts %d; want 3 and 3", p.calls["flaky"], res.Steps[0].Attempts)
	}
}

func TestResumeReusesFinishedWork(t *testing.T) {
	p := newProbe()
	src := `
aiflow: 1
vars:
  broken: { type: boolean, default: true }
steps:
  first: { uses: probe, with: { value: 1 } }
  fan:
    uses: probe
    for_each: ${ [1, 2, 3] }
    with: { value: "${ each.value }" }
  last:
    uses: probe
    needs: [first, fan]
    with:
      fail: '${ vars.broken ? "broken" : "" }'
      value: done
outputs:
  last: ${ steps.last.output.value }
`
	fl := compileTest(t, p, src)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := fl.Run(context.Background(), engine.RunOptions{Store: st})
	if err == nil {
		t.Fatal("first run should fail")
	}
	again, err := fl.Run(context.Background(), engine.RunOptions{Store: st, Resume: res.RunID, Vars: map[string]any{"broken": false}})
	if err != nil {
		t.Fatal(err)
	}
	if again.RunID != res.RunID || again.Outputs["last"] != "done" {
		t.Errorf("resumed run %s outputs %v", again.RunID, again.Outputs)
	}
	want := map[string]int{"first": 1, "fan[0]": 1, "fan[1]": 1, "fan[2]": 1, "last": 2}
	if d := cmp.Diff(want, p.calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
}

func TestCycleIsRejectedWithPath(t *testing.T) {
	reg := steps.NewRegistry()
	reg.Register(transform.Kind)
	f, _ := spec.Parse("cycle.yaml", []byte(`aiflow: 1
steps:
  a:
    uses: transform
    with: { expr: "${ steps.c.output.value }" }
  b:
    uses: transform
    with: { expr: "${ steps.a.output.value }" }
  c:
    uses: transform
    with: { expr: "${ steps.b.output.value }" }
`))
	_, diags := engine.Compile(f, engine.Options{Steps: reg, Providers: providers.NewRegistry()})
	got := diags.Errors()
	if len(got) != 1 || !strings.Contains(got[0].String(), "cycle.yaml:3:3: steps.a: dependency cycle: a → b → c → a") {
		t.Errorf("got %v", got)
	}
}
