package telemetry_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/telemetry"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/fake"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/generate"
)

// tracedFlow fans a generate step out over three items with a secret (an env() value)
// in the prompt, retries a rate-limited step, fails one and skips one.
const tracedFlow = `aiflow: 1
name: traced
providers:
  f: { kind: fake }
steps:
  greet:
    uses: generate
    model: f:small
    for_each: [a, b, c]
    prompt: say ${ each.value } with key ${ env("AIFLOW_OTEL_TEST_SECRET") }
    params: { temperature: 0.5, max_tokens: 20 }
  flaky:
    uses: generate
    model: f:flaky
    retry: { attempts: 3, backoff: 1ms }
    prompt: hello
  broken:
    uses: generate
    model: f:broken
    prompt: hello
  never:
    uses: generate
    model: f:small
    when: ${ false }
    prompt: nothing
`

const planted = "sk-planted-0123456789abcdef"

// traceRun runs tracedFlow with the engine tracer over the SDK's in-memory exporter and
// returns the spans, the result and the run as stored.
func traceRun(t *testing.T, content bool) (tracetest.SpanStubs, *engine.RunResult, store.Run) {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return traceFlow(t, tracedFlow, st, content)
}

// traceFlow runs src on the fake provider, recorded in st.
func traceFlow(t *testing.T, src string, st *store.Store, content bool) (tracetest.SpanStubs, *engine.RunResult, store.Run) {
	t.Helper()
	t.Setenv("AIFLOW_OTEL_TEST_SECRET", planted)
	p := fake.New()
	p.PricePerCall = 0.25
	p.Fail = func(model string, n int) error {
		switch {
		case model == "flaky" && n < 3:
			return fake.RateLimited(model)
		case model == "broken":
			return fake.Unavailable(model)
		}
		return nil
	}
	reg := steps.NewRegistry()
	if err := reg.Register(generate.Kind); err != nil {
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
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	res, err := fl.Run(context.Background(), engine.RunOptions{Store: st, Tracer: telemetry.NewEngineTracer(tp.Tracer("test"), content)})
	if res == nil {
		t.Fatalf("run: %v", err)
	}
	run, err := st.GetRun(context.Background(), res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	return exp.GetSpans(), res, run
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

func byName(spans tracetest.SpanStubs) map[string]tracetest.SpanStub {
	m := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		m[s.Name] = s
	}
	return m
}

// TestEngineSpans checks the spans of a run: one trace, recorded with the run; a root
// for the run, a child per step and a grandchild per for_each item; the GenAI
// attributes on model calls; retries, failures and skips; and no secret anywhere.
func TestEngineSpans(t *testing.T) {
	spans, res, run := traceRun(t, false)
	names := byName(spans)
	want := []string{"run traced", "step greet", "item greet[0]", "item greet[1]", "item greet[2]", "step flaky", "step broken", "step never"}
	if len(spans) != len(want) {
		var got []string
		for _, s := range spans {
			got = append(got, s.Name)
		}
		t.Fatalf("spans %q; want %q", got, want)
	}
	for _, n := range want {
		if _, ok := names[n]; !ok {
			t.Errorf("no span %q", n)
		}
	}
	root := names["run traced"]
	tid := root.SpanContext.TraceID().String()
	if res.TraceID != tid || run.TraceID != tid {
		t.Errorf("trace id: result %q, stored %q; want the spans' %q", res.TraceID, run.TraceID, tid)
	}
	for _, s := range spans {
		if s.SpanContext.TraceID().String() != tid {
			t.Errorf("span %q is in trace %s, not the run's", s.Name, s.SpanContext.TraceID())
		}
		parent := ""
		switch {
		case s.Name == "run traced":
			if s.Parent.IsValid() {
				t.Errorf("run span has a parent %s", s.Parent.SpanID())
			}
			continue
		case strings.HasPrefix(s.Name, "item greet"):
			parent = "step greet"
		default:
			parent = "run traced"
		}
		if s.Parent.SpanID() != names[parent].SpanContext.SpanID() {
			t.Errorf("span %q: parent is not %q", s.Name, parent)
		}
	}

	item := attrs(names["item greet[1]"])
	for k, v := range map[attribute.Key]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "fake", "gen_ai.request.model": "small", "gen_ai.response.model": "small",
		"gen_ai.request.temperature": 0.5, "gen_ai.request.max_tokens": int64(20), "aiflow.item.index": int64(1), "aiflow.step.id": "greet",
		"aiflow.step.kind": "generate", "aiflow.run.id": res.RunID, "aiflow.cost.usd": 0.25, "aiflow.cache.hit": false, "aiflow.status": "succeeded",
	} {
		if got, ok := item[k]; !ok || got.AsInterface() != v {
			t.Errorf("item greet[1]: %s = %v, want %v", k, got.AsInterface(), v)
		}
	}
	if n := item["gen_ai.usage.output_tokens"].AsInt64(); n <= 0 {
		t.Errorf("item greet[1]: gen_ai.usage.output_tokens = %d, want > 0", n)
	}
	if _, ok := item["gen_ai.input.messages"]; ok {
		t.Error("a prompt was exported without content capture")
	}

	flaky := names["step flaky"]
	if a := attrs(flaky); a["aiflow.attempts"].AsInt64() != 3 || a["aiflow.retries"].AsInt64() != 2 {
		t.Errorf("step flaky: attempts %v, retries %v; want 3 and 2", a["aiflow.attempts"].AsInterface(), a["aiflow.retries"].AsInterface())
	}
	retries := 0
	for _, e := range flaky.Events {
		if e.Name == "aiflow.retry" {
			retries++
		}
	}
	if retries != 2 {
		t.Errorf("step flaky: %d retry events, want 2", retries)
	}
	broken := names["step broken"]
	if broken.Status.Code != codes.Error || !strings.Contains(broken.Status.Description, "broken is unavailable") || attrs(broken)["error.type"].AsString() != "503" {
		t.Errorf("step broken: status %v %q, error.type %q; want Error with the provider's message and 503", broken.Status.Code, broken.Status.Description, attrs(broken)["error.type"].AsString())
	}
	if root.Status.Code != codes.Error {
		t.Errorf("run span status %v, want Error (a step failed)", root.Status.Code)
	}
	if a := attrs(names["step never"]); a["aiflow.status"].AsString() != "skipped" {
		t.Errorf("step never: status %q, want skipped", a["aiflow.status"].AsString())
	}
	if dump := fmt.Sprintf("%+v", spans); strings.Contains(dump, planted) {
		t.Errorf("the planted secret is in the spans")
	}
}

// TestEngineSpansContent checks content capture: the prompt is exported, with the
// secret in it redacted.
func TestEngineSpansContent(t *testing.T) {
	spans, _, _ := traceRun(t, true)
	item := attrs(byName(spans)["item greet[2]"])
	msgs := item["gen_ai.input.messages"].AsString()
	if !strings.Contains(msgs, "say c with key [REDACTED]") {
		t.Errorf("gen_ai.input.messages = %q; want the prompt with the secret redacted", msgs)
	}
	if out := item["aiflow.output"].AsString(); !strings.Contains(out, "small: say c") {
		t.Errorf("aiflow.output = %q; want the answer", out)
	}
	if dump := fmt.Sprintf("%+v", spans); strings.Contains(dump, planted) {
		t.Errorf("the planted secret is in the spans")
	}
}

// TestCachedSpans checks that steps and items served from the step cache still get
// their spans, marked as cache hits.
func TestCachedSpans(t *testing.T) {
	const src = `aiflow: 1
name: cached
providers:
  f: { kind: fake }
steps:
  greet:
    uses: generate
    model: f:small
    for_each: [a, b]
    prompt: say ${ each.value }
    params: { temperature: 0 }
  whole:
    uses: generate
    model: f:small
    prompt: hello
    params: { temperature: 0 }
`
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for run, wantHit := range []bool{false, true} {
		spans, _, _ := traceFlow(t, src, st, false)
		if len(spans) != 5 {
			t.Fatalf("run %d: %d spans, want the run, two steps and two items", run+1, len(spans))
		}
		for _, s := range spans {
			if s.Name == "run cached" {
				continue
			}
			a := attrs(s)
			wantStatus := map[bool]string{false: "succeeded", true: "cached"}[wantHit]
			if a["aiflow.cache.hit"].AsBool() != wantHit || a["aiflow.status"].AsString() != wantStatus {
				t.Errorf("run %d, span %q: cache hit %v, status %q; want %v, %s", run+1, s.Name, a["aiflow.cache.hit"].AsBool(), a["aiflow.status"].AsString(), wantHit, wantStatus)
			}
		}
	}
}
