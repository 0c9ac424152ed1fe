package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/fake"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/chunk"
	"github.com/aiflow/aiflow/steps/embed"
	"github.com/aiflow/aiflow/steps/generate"
	"github.com/aiflow/aiflow/steps/transform"
)

// fakeFlow compiles src against the fake provider and the generate/transform/chunk kinds.
func fakeFlow(t testing.TB, p *fake.Provider, src string) *engine.Flow {
	t.Helper()
	reg := steps.NewRegistry()
	for _, k := range []steps.Kind{generate.Kind, transform.Kind, chunk.Kind} {
		if err := reg.Register(k); err != nil {
			t.Fatal(err)
		}
	}
	preg := providers.NewRegistry()
	if err := preg.Register(p.Info()); err != nil {
		t.Fatal(err)
	}
	f, diags := spec.Parse("flow.yaml", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	fl, diags := engine.Compile(f, engine.Options{Steps: reg, Providers: preg})
	if diags.HasErrors() {
		t.Fatalf("compile: %v", diags)
	}
	return fl
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

const routedFlow = `
aiflow: 1
vars:
  quality: { type: string, default: normal }
  text: { type: string, default: hello }
providers:
  f: { kind: fake }
models:
  small: f:small
  big: f:big
  backup: f:backup
routes:
  writer:
    rules:
      - when: tokens(input) > 50 || vars.quality == "high"
        use: big
      - use: small
    fallback: [backup]
steps:
  answer:
    uses: generate
    route: writer
    prompt: ${ vars.text }
    params: { temperature: 0 }
outputs:
  text: ${ steps.answer.output.text }
`

func TestRouteRules(t *testing.T) {
	long := strings.Repeat("word ", 80)
	tests := []struct {
		name string
		vars map[string]any
		fail func(model string, n int) error
		want string
	}{
		{"default rule", nil, nil, "small: hello"},
		{"vars condition", map[string]any{"quality": "high"}, nil, "big: hello"},
		{"token condition", map[string]any{"text": long}, nil, "big: " + long},
		{"fallback on 503", nil, func(m string, _ int) error {
			if m == "small" {
				return fake.Unavailable(m)
			}
			return nil
		}, "backup: hello"},
		{"fallback on 429", nil, func(m string, _ int) error {
			if m == "small" {
				return fake.RateLimited(m)
			}
			return nil
		}, "backup: hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fake.New()
			p.Fail = tt.fail
			fl := fakeFlow(t, p, routedFlow)
			st := openStore(t)
			res, err := fl.Run(context.Background(), engine.RunOptions{Store: st, Vars: tt.vars})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Outputs["text"]; got != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
			recs, _ := st.Steps(context.Background(), res.RunID)
			if tt.fail != nil && (recs[0].Model != "f:backup" || !strings.Contains(recs[0].Reason, "fell back")) {
				t.Errorf("record model %q reason %q; want the fallback model and why", recs[0].Model, recs[0].Reason)
			}
		})
	}
}

func TestFallbackNotOnBadRequest(t *testing.T) {
	p := fake.New()
	p.Fail = func(m string, _ int) error {
		return &providers.Error{Provider: "fake", Model: m, Status: 400, Message: "bad request"}
	}
	fl := fakeFlow(t, p, routedFlow)
	_, err := fl.Run(context.Background(), engine.RunOptions{Store: openStore(t)})
	if err == nil || p.Calls("backup") != 0 {
		t.Fatalf("err %v, backup calls %d: a 400 must not fall back", err, p.Calls("backup"))
	}
}

func TestSplitIsDeterministicAndWeighted(t *testing.T) {
	src := `
aiflow: 1
vars:
  items: { type: list }
providers:
  f: { kind: fake }
models:
  a: f:a
  b: f:b
  c: f:c
routes:
  ab:
    split: { a: 70, b: 20, c: 10 }
steps:
  gen:
    uses: generate
    route: ab
    for_each: ${ vars.items }
    prompt: ${ each.value }
    params: { temperature: 0 }
    cache: off
outputs:
  models: ${ map(steps.gen.output, .model) }
`
	const n = 10000
	items := make([]any, n)
	for i := range items {
		items[i] = fmt.Sprintf("input number %d", i)
	}
	p := fake.New()
	fl := fakeFlow(t, p, src)
	run := func(seed int64) []any {
		res, err := fl.Run(context.Background(), engine.RunOptions{Store: openStore(t), Vars: map[string]any{"items": items}, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, a := range res.Arms["ab"] {
			total += a.Calls
		}
		if total != n {
			t.Errorf("arm counts %v add up to %d, want %d", res.Arms["ab"], total, n)
		}
		return res.Outputs["models"].([]any)
	}
	first, again, other := run(1), run(1), run(2)
	if d := cmp.Diff(first, again); d != "" {
		t.Errorf("same seed, different arms (-first +again):\n%s", d)
	}
	if cmp.Equal(first, other) {
		t.Errorf("a different seed chose exactly the same arms")
	}
	counts := map[string]int{}
	for _, m := range first {
		counts[m.(string)]++
	}
	for arm, w := range map[string]float64{"f:a": 0.7, "f:b": 0.2, "f:c": 0.1} {
		if got := float64(counts[arm]) / n; math.Abs(got-w) > 0.02 {
			t.Errorf("arm %s took %.3f of the calls, want %.2f ± 0.02", arm, got, w)
		}
	}
}

func TestBudgetStopsBeforeCrossing(t *testing.T) {
	src := `
aiflow: 1
budget: { usd: 0.0005 }
providers:
  f: { kind: fake }
models:
  m: workers:@cf/meta/llama-3.1-8b-instruct
steps:
  gen:
    uses: generate
    model: f:@cf/meta/llama-3.1-8b-instruct
    for_each: ${ ["a", "b", "c", "d", "e", "f"] }
    parallelism: 1
    prompt: ${ each.value }
    params: { temperature: 0, max_tokens: 4 }
`
	// The fake kind has no catalogue prices: its first call is estimated as on the dearest
	// generate model, which max_tokens: 4 keeps under the budget.
	src = strings.Replace(src, "models:\n  m: workers:@cf/meta/llama-3.1-8b-instruct\n", "", 1)
	p := fake.New()
	p.PricePerCall = 0.0002
	fl := fakeFlow(t, p, src)
	res, err := fl.Run(context.Background(), engine.RunOptions{Store: openStore(t)})
	var be *engine.BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("want a budget error, got %v", err)
	}
	if res.Usage.USD > 0.0005 {
		t.Errorf("spent $%f, over the $0.0005 budget", res.Usage.USD)
	}
	if calls := p.Calls("@cf/meta/llama-3.1-8b-instruct"); calls == 0 || calls == 6 {
		t.Errorf("%d calls: the budget should stop the fan-out part-way", calls)
	}
}

// TestBudgetCoversBatches: calls sent together as a batch are reserved against the budget
// like single calls, so a batched fan-out also stops before crossing it.
func TestBudgetCoversBatches(t *testing.T) {
	p := fake.New()
	p.PricePerCall = 0.0002
	reg := steps.NewRegistry()
	reg.Register(embed.Kind)
	preg := providers.NewRegistry()
	preg.Register(p.Info())
	f, diags := spec.Parse("flow.yaml", []byte(`
aiflow: 1
budget: { usd: 0.0005 }
providers:
  f: { kind: fake }
steps:
  vecs:
    uses: embed
    model: f:e
    for_each: ${ ["a", "b", "c", "d", "e", "f"] }
    batch: 2
    parallelism: 1
    with:
      text: ${ each.value }
`))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	fl, diags := engine.Compile(f, engine.Options{Steps: reg, Providers: preg})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	res, err := fl.Run(context.Background(), engine.RunOptions{Store: openStore(t)})
	var be *engine.BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("want a budget error, got %v", err)
	}
	if calls := p.Calls("e"); calls != 2 || res.Usage.USD > 0.0005 {
		t.Errorf("%d batch calls, $%f spent; want 2 calls within the $0.0005 budget", calls, res.Usage.USD)
	}
}

// TestPlanShowsSplitDistribution: a routed for_each whose items go to several models is
// planned with each model's share (the plan used to name one model), the same shares the
// run with that seed takes.
func TestPlanShowsSplitDistribution(t *testing.T) {
	src := `
aiflow: 1
providers:
  f: { kind: fake }
models:
  a: f:a
  b: f:b
  c: f:c
routes:
  abc:
    split: { a: 50, b: 30, c: 20 }
steps:
  gen:
    uses: generate
    route: abc
    for_each: ${ ["i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8", "i9", "i10", "i11", "i12", "i13", "i14", "i15", "i16", "i17", "i18", "i19", "i20", "i21", "i22", "i23", "i24", "i25", "i26", "i27", "i28", "i29", "i30", "i31", "i32", "i33", "i34", "i35", "i36", "i37", "i38", "i39"] }
    prompt: item ${ each.value }
    params: { temperature: 0 }
    cache: off
outputs:
  models: ${ map(steps.gen.output, .model) }
`
	fl := fakeFlow(t, fake.New(), src)
	p, err := fl.Plan(context.Background(), engine.PlanOptions{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	gen := p.Steps[0]
	planned := map[string]int{}
	for _, m := range gen.Models {
		planned[m.Model] = m.Items
	}
	if gen.Model != "" || len(planned) != 3 {
		t.Fatalf("plan: model %q, shares %+v; want the shares of f:a, f:b and f:c", gen.Model, gen.Models)
	}
	res, err := fl.Run(context.Background(), engine.RunOptions{Store: openStore(t), Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	ran := map[string]int{}
	for _, m := range res.Outputs["models"].([]any) {
		ran[m.(string)]++
	}
	if d := cmp.Diff(ran, planned); d != "" {
		t.Errorf("planned shares differ from the run's (-run +plan):\n%s", d)
	}
}

// TestRouteConditionOnInputText checks that input in a route condition is the call's text:
// string operators compile and choose the model at run time (issue 12 bug 2).
func TestRouteConditionOnInputText(t *testing.T) {
	src := strings.Replace(routedFlow, `tokens(input) > 50 || vars.quality == "high"`, `input contains "code" && lower(input) startsWith "review"`, 1)
	tests := []struct{ text, want string }{
		{"review this code", "big: review this code"},
		{"review this poem", "small: review this poem"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			fl := fakeFlow(t, fake.New(), src)
			res, err := fl.Run(context.Background(), engine.RunOptions{Store: openStore(t), Vars: map[string]any{"text": tt.text}})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Outputs["text"]; got != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
		})
	}
}
