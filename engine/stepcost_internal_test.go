package engine

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/flowgen"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/transform"
)

// TestWalkerStepAllocations is issue 18: the walker's own work per transform step, from
// the scheduler picking it up to its record (an ephemeral run records nothing, so the
// run store's share is left out), allocated about 20 objects; garbage collection was
// then a quarter of a small flow's cost. The ceilings are what the walker allocates per
// step now, with a little room for the run's own set-up spread over its 100 steps.
func TestWalkerStepAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	tests := []struct {
		name string
		src  string
		max  float64 // allocations per step
	}{
		{"wide", flowgen.Wide(100), 9},
		{"chain", flowgen.Chain(100), 14},
		// one step over 100 items: per item
		{"items", "aiflow: 1\nsteps:\n  s:\n    uses: transform\n    for_each: ${ 0..99 }\n    with:\n      expr: ${ each.value * 2 }\n", 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := compileTransforms(t, tt.src)
			st := tempStore(t)
			opts := RunOptions{Store: st, Ephemeral: true, Parallelism: 1}
			run := func() {
				if _, err := fl.Run(context.Background(), opts); err != nil {
					t.Fatal(err)
				}
			}
			run() // warm the pools
			perStep := testing.AllocsPerRun(20, run) / 100
			if perStep > tt.max {
				t.Errorf("%.1f allocations per step, want at most %.0f", perStep, tt.max)
			}
		})
	}
}

func compileTransforms(t *testing.T, src string) *Flow {
	t.Helper()
	reg := steps.NewRegistry()
	reg.Register(transform.Kind)
	return compileWith(t, reg, src)
}

// compileWith parses and compiles src with the step kinds of reg and no providers.
func compileWith(t *testing.T, reg *steps.Registry, src string) *Flow {
	t.Helper()
	f, diags := spec.Parse("test.yaml", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	fl, diags := Compile(f, Options{Steps: reg, Providers: providers.NewRegistry()})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return fl
}

// tempStore is a run store in a test directory, closed when the test ends.
func tempStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestStepClockReads is issue 18: a transform step read the clock six times (when it
// started, for its start event, to time its call, twice when it ended, for its end
// event); a clock read costs a tenth of a microsecond on some machines. A step now
// reads the run's clock when it starts and when it ends, and its events carry those
// same times.
func TestStepClockReads(t *testing.T) {
	const n = 20
	for _, tt := range []struct {
		name string
		src  string
	}{{"wide", flowgen.Wide(n)}, {"chain", flowgen.Chain(n)}, {"for_each", forEachFlow}} {
		t.Run(tt.name, func(t *testing.T) {
			fl := compileTransforms(t, tt.src)
			st := tempStore(t)
			t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
			var reads atomic.Int64
			clock := func() time.Time { return t0.Add(time.Duration(reads.Add(1)) * time.Second) }
			var mu sync.Mutex
			var events []Event
			hook := HookFunc(func(e Event) {
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
			})
			res, err := fl.Run(context.Background(), RunOptions{Store: st, Now: clock, Hooks: []Hook{hook}, Parallelism: 2})
			if err != nil {
				t.Fatal(err)
			}
			calls := 0 // steps and for_each items
			for _, s := range res.Steps {
				calls += 1 + s.Items
			}
			// Each step and item: its start and its end; the run: its start and its end.
			if got, want := reads.Load(), int64(2*calls+2); got > want {
				t.Errorf("%d clock reads for %d steps and items, want at most %d", got, calls, want)
			}
			for _, e := range events {
				switch e.Type {
				case EventStepStart, EventStepDone, EventItemDone:
					if e.Time.Year() != 2000 {
						t.Errorf("%s event of %s item %d dated %v, not by the run's clock", e.Type, e.StepID, e.Item, e.Time)
					}
				}
			}
		})
	}
}

// forEachFlow is a for_each transform over ten items.
const forEachFlow = `aiflow: 1
steps:
  items:
    uses: transform
    for_each: ${ [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }
    with:
      expr: ${ each.value * 2 }
`

// TestScopeReuseKeepsWholeScopes: a step's expression scope is reused by the next step
// the same worker runs, except where an expression can return the scope's own maps
// ($env, steps by itself): those values live on in the step's output, and must still
// hold the step's own dependencies after later steps ran.
func TestScopeReuseKeepsWholeScopes(t *testing.T) {
	const src = `aiflow: 1
steps:
  a:
    uses: transform
    with: { expr: 1 }
  b:
    uses: transform
    needs: [a]
    with: { expr: "${ steps }" }
  c:
    uses: transform
    with: { expr: "${ steps.b.output.value.a.output.value + 1 }" }
  d:
    uses: transform
    with: { expr: "${ $env.steps }" }
    needs: [c]
  e:
    uses: transform
    with: { expr: "${ [steps][0] }" }
    needs: [d]
  f:
    uses: transform
    with: { expr: "${ steps.e.output.value.d.output.value.c.output.value * 10 }" }
outputs:
  b: ${ keys(steps.b.output.value) }
  d: ${ keys(steps.d.output.value) }
  e: ${ keys(steps.e.output.value) }
  f: ${ steps.f.output.value }
`
	fl := compileTransforms(t, src)
	st := tempStore(t)
	res, err := fl.Run(context.Background(), RunOptions{Store: st, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"b": []any{"a"}, "d": []any{"c"}, "e": []any{"d"}, "f": 20.0}
	if diff := cmp.Diff(want, res.Outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
}

// TestEphemeralRunOutputs: an ephemeral run shapes its steps' outputs without encoding
// them (nothing is recorded) except where they are cached; its outputs and statuses are
// a recorded run's, and a cached step's answer is served to the next ephemeral run.
func TestEphemeralRunOutputs(t *testing.T) {
	const src = `aiflow: 1
steps:
  n:
    uses: transform
    with: { expr: "${ 6 * 7 }" }
  items:
    uses: transform
    for_each: ${ [1, 2, 3] }
    with: { expr: "${ {'i': each.value * steps.n.output.value, 'l': [each.index, 'x']} }" }
  kept:
    uses: transform
    cache: on
    with: { expr: "${ map(steps.items.output, .value.i) }" }
outputs:
  items: ${ steps.items.output }
  kept: ${ steps.kept.output.value }
`
	fl := compileTransforms(t, src)
	st := tempStore(t)
	recorded, err := fl.Run(context.Background(), RunOptions{Store: st, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, wantKept := range []string{StatusSucceeded, StatusCached} {
		eph, err := fl.Run(context.Background(), RunOptions{Store: st, Ephemeral: true})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(recorded.Outputs, eph.Outputs); d != "" {
			t.Errorf("ephemeral run %d outputs (-recorded +ephemeral):\n%s", i, d)
		}
		if got := eph.Steps[2].Status; got != wantKept {
			t.Errorf("ephemeral run %d: cached step %s, want %s", i, got, wantKept)
		}
	}
}

// goroutineStep records the goroutine each call runs on.
type goroutineStep struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (s *goroutineStep) Run(_ context.Context, call *steps.Call) (steps.Result, error) {
	buf := make([]byte, 64)
	id := strings.Fields(string(buf[:runtime.Stack(buf, false)]))[1] // "goroutine N [running]:"
	s.mu.Lock()
	s.ids[id] = true
	s.mu.Unlock()
	return steps.Result{Output: map[string]any{"value": call.Inputs["expr"]}}, nil
}

// TestForEachItemGoroutines is issue 18: a for_each step started a goroutine for every
// item (group), whose stack grew afresh through the expression evaluator: copying
// stacks was half of an item's cost. Items now run on at most parallelism goroutines,
// each taking one group after another; the results are the same.
func TestForEachItemGoroutines(t *testing.T) {
	rec := &goroutineStep{ids: map[string]bool{}}
	kind := transform.Kind
	kind.Name = "recorded"
	kind.Keys = append(append([]string(nil), kind.Keys...), "batch") // groups of items, one call each
	kind.New = func(*spec.Step) (steps.Step, spec.Diagnostics) { return rec, nil }
	reg := steps.NewRegistry()
	reg.Register(kind)
	for _, tt := range []struct {
		name        string
		parallelism string
		batch       string
		want        int // goroutines at most
	}{
		{"parallelism 2", "2", "1", 2},
		{"parallelism 3, batches of 4", "3", "4", 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clear(rec.ids)
			src := "aiflow: 1\nsteps:\n  s:\n    uses: recorded\n    parallelism: " + tt.parallelism + "\n    batch: " + tt.batch +
				"\n    for_each: ${ 0..49 }\n    with:\n      expr: ${ each.value * 2 }\noutputs:\n  sum: ${ sum(map(steps.s.output, .value)) }\n"
			fl := compileWith(t, reg, src)
			st := tempStore(t)
			res, err := fl.Run(context.Background(), RunOptions{Store: st, Ephemeral: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Outputs["sum"]; got != 2450.0 {
				t.Errorf("sum of the items' values %v, want 2450", got)
			}
			if len(rec.ids) > tt.want {
				t.Errorf("50 items ran on %d goroutines, want at most %d", len(rec.ids), tt.want)
			}
		})
	}
}

// keeper keeps every call's expr input, as a tracer keeping calls for its spans would.
type keeper struct {
	mu   sync.Mutex
	kept []any
}

func (k *keeper) Run(_ context.Context, call *steps.Call) (steps.Result, error) {
	k.mu.Lock()
	k.kept = append(k.kept, call.Inputs["expr"])
	k.mu.Unlock()
	return steps.Result{Output: map[string]any{"value": 1}}, nil
}

// TestItemScopeReuse: a for_each worker reuses one scope and each map for its items,
// except where an expression can return them as a whole (each, $env): those values
// (outputs, and inputs a step or tracer keeps) must keep their own item.
func TestItemScopeReuse(t *testing.T) {
	k := &keeper{}
	kind := transform.Kind
	kind.Name, kind.FreshOutput = "keep", false
	kind.New = func(*spec.Step) (steps.Step, spec.Diagnostics) { return k, nil }
	reg := steps.NewRegistry()
	reg.Register(kind)
	kfl := compileWith(t, reg, "aiflow: 1\nsteps:\n  k:\n    uses: keep\n    parallelism: 1\n    for_each: ${ ['a', 'b', 'c'] }\n    with: { expr: \"${ each }\" }\n")
	kst := tempStore(t)
	if _, err := kfl.Run(context.Background(), RunOptions{Store: kst, Ephemeral: true}); err != nil {
		t.Fatal(err)
	}
	for i, v := range k.kept {
		if m, _ := v.(map[string]any); m["index"] != i {
			t.Errorf("call %d kept each %v, want index %d", i, v, i)
		}
	}

	const src = `aiflow: 1
steps:
  whole:
    uses: transform
    parallelism: 1
    for_each: ${ ['a', 'b', 'c'] }
    with: { expr: "${ each }" }
  env:
    uses: transform
    parallelism: 1
    for_each: ${ ['a', 'b', 'c'] }
    with: { expr: "${ $env.each }" }
  members:
    uses: transform
    parallelism: 1
    for_each: ${ ['a', 'b', 'c'] }
    with: { expr: "${ {'v': each.value, 'i': each.index} }" }
outputs:
  whole: ${ map(steps.whole.output, .value) }
  env: ${ map(steps.env.output, .value) }
  members: ${ map(steps.members.output, .value) }
`
	fl := compileTransforms(t, src)
	st := tempStore(t)
	res, err := fl.Run(context.Background(), RunOptions{Store: st, Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	items := func(k1, k2 string) []any {
		var l []any
		for i, v := range []string{"a", "b", "c"} {
			l = append(l, map[string]any{k1: v, k2: float64(i)})
		}
		return l
	}
	want := map[string]any{"whole": items("value", "index"), "env": items("value", "index"), "members": items("v", "i")}
	if diff := cmp.Diff(want, res.Outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
}

// TestRunWorksOnCallerGoroutine is issue 18: a run waited while goroutines of its own
// ran its steps, each growing a fresh stack. The calling goroutine now runs steps
// too, so a chain runs on it alone.
func TestRunWorksOnCallerGoroutine(t *testing.T) {
	rec := &goroutineStep{ids: map[string]bool{}}
	kind := transform.Kind
	kind.Name = "recorded"
	kind.New = func(*spec.Step) (steps.Step, spec.Diagnostics) { return rec, nil }
	reg := steps.NewRegistry()
	reg.Register(kind)
	src := strings.ReplaceAll(flowgen.Chain(20), "uses: transform", "uses: recorded")
	fl := compileWith(t, reg, src)
	st := tempStore(t)
	buf := make([]byte, 64)
	self := strings.Fields(string(buf[:runtime.Stack(buf, false)]))[1]
	res, err := fl.Run(context.Background(), RunOptions{Store: st, Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != 20 || res.Steps[19].Status != StatusSucceeded {
		t.Fatalf("steps %+v", res.Steps)
	}
	if len(rec.ids) != 1 || !rec.ids[self] {
		t.Errorf("the chain ran on goroutines %v, want only the caller's (%s)", rec.ids, self)
	}
}
