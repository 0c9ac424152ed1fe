package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/infra"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	_ "github.com/aiflow/aiflow/providers/local"
	_ "github.com/aiflow/aiflow/providers/localindex"
	"github.com/aiflow/aiflow/providers/wiretest"
	_ "github.com/aiflow/aiflow/providers/workersai"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	_ "github.com/aiflow/aiflow/steps/all"
)

// e2eFlow parses and compiles src with the default step and provider registries.
func e2eFlow(t *testing.T, src string, env map[string]string) *engine.Flow {
	t.Helper()
	f, diags := spec.Parse("e2e.yaml", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	fl, diags := engine.Compile(f, engine.Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if diags.HasErrors() {
		t.Fatalf("compile: %v", diags)
	}
	return fl
}

// e2eRun runs fl against a store and state directory under dir.
func e2eRun(t *testing.T, fl *engine.Flow, dir string, opts engine.RunOptions) *engine.RunResult {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	opts.Store, opts.StateDir = st, dir
	for _, r := range fl.Spec.Resources {
		if r.Kind != "database" {
			continue
		}
		// Flows with databases need them applied, as `aiflow run --apply` does.
		iopts := infra.Options{StateDir: dir}
		if _, err := infra.Apply(context.Background(), fl, st, iopts, nil); err != nil {
			t.Fatalf("apply: %v", err)
		}
		opts.OpenDatabase = func(ctx context.Context, name string) (providers.Database, error) {
			return infra.OpenDatabase(ctx, fl, st, iopts, name)
		}
		break
	}
	res, err := fl.Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

const ingestFlow = `
aiflow: 1
name: ingest
vars:
  docs: { type: list, description: "[{source, text}]" }
resources:
  kb:
    kind: vector-index
    backend: local
    dimensions: 768
    metadata_indexes: { source: string }
steps:
  chunks:
    uses: chunk
    for_each: ${ vars.docs }
    with:
      text: ${ each.value.text }
      source: ${ each.value.source }
      size: 120
      overlap: 12
  vecs:
    uses: embed
    for_each: ${ steps.chunks.output }
    batch: 4
    with:
      texts: ${ each.value.texts }
  store:
    uses: upsert
    for_each: ${ steps.chunks.output }
    batch: 6
    with:
      index: ${ resources.kb }
      vectors: ${ steps.vecs.output[each.index].vectors }
      texts: ${ each.value.texts }
      source: ${ vars.docs[each.index].source }
outputs:
  chunks: ${ sum(map(steps.chunks.output, .count)) }
  written: ${ sum(map(steps.store.output, .count)) }
`

const queryFlow = `
aiflow: 1
name: ask
vars:
  question: { type: string }
resources:
  kb:
    kind: vector-index
    backend: local
    dimensions: 768
steps:
  q:
    uses: embed
    with:
      text: ${ vars.question }
  hits:
    uses: search
    with:
      index: ${ resources.kb }
      vector: ${ steps.q.output.vector }
      top_k: 3
  hybrid:
    uses: search
    with:
      index: ${ resources.kb }
      text: ${ vars.question }
      mode: hybrid
      top_k: 3
      filter: { source: "${ steps.hits.output.matches[0].metadata.source }" }
  answer:
    uses: summarize
    with:
      text: ${ join(steps.hits.output.texts, "\n\n") }
      focus: ${ vars.question }
      max_length: 2
outputs:
  top: ${ steps.hits.output.matches[0].metadata.source }
  hybrid_top: ${ steps.hybrid.output.matches[0].metadata.source }
  answer: ${ steps.answer.output.text }
`

func exampleDocs(t *testing.T) []any {
	t.Helper()
	paths, err := filepath.Glob("../examples/flows/data/*.md")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no example documents: %v", err)
	}
	sort.Strings(paths)
	var docs []any
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, map[string]any{"source": filepath.Base(p), "text": string(b)})
	}
	return docs
}

// TestRAGLocal ingests examples/flows/data with the local provider and index, checks a second
// ingest overwrites instead of duplicating, then asks questions whose answer is in a known
// document.
func TestRAGLocal(t *testing.T) {
	dir := t.TempDir()
	ingest := e2eFlow(t, ingestFlow, nil)
	docs := exampleDocs(t)
	first := e2eRun(t, ingest, dir, engine.RunOptions{Vars: map[string]any{"docs": docs}})
	chunks := first.Outputs["chunks"]
	if first.Outputs["written"] != chunks {
		t.Fatalf("wrote %v vectors for %v chunks", first.Outputs["written"], chunks)
	}
	e2eRun(t, ingest, dir, engine.RunOptions{Vars: map[string]any{"docs": docs}, NoCache: true})
	if n := e2eIndexCount(t, dir); fmt.Sprint(n) != fmt.Sprint(chunks) {
		t.Errorf("index holds %d vectors after two ingests of %v chunks", n, chunks)
	}

	ask := e2eFlow(t, queryFlow, nil)
	tests := []struct{ question, want, word string }{
		{"how do I make a sourdough starter from scratch", "sourdough-baking.md", "starter"},
		{"how does an HNSW graph index find nearest neighbours", "vector-databases.md", "graph"},
		{"cancel a tree of goroutines with a context", "go-concurrency.md", "context"},
		{"what does max-age in the Cache-Control header mean", "http-caching.md", "max-age"},
	}
	for _, tt := range tests {
		t.Run(tt.question, func(t *testing.T) {
			res := e2eRun(t, ask, dir, engine.RunOptions{Vars: map[string]any{"question": tt.question}})
			if res.Outputs["top"] != tt.want || res.Outputs["hybrid_top"] != tt.want {
				t.Errorf("top sources = %v / %v, want %s", res.Outputs["top"], res.Outputs["hybrid_top"], tt.want)
			}
			if a, _ := res.Outputs["answer"].(string); !strings.Contains(strings.ToLower(a), tt.word) {
				t.Errorf("answer %q does not mention %q", a, tt.word)
			}
		})
	}
}

func e2eIndexCount(t *testing.T, dir string) int {
	t.Helper()
	info, ok := providers.LookupIndexBackend("local")
	if !ok {
		t.Fatal("local index backend not registered")
	}
	b, err := info.New(providers.IndexBackendConfig{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	got, found, err := b.Describe(context.Background(), providers.IndexSpec{Name: "kb", Backend: "local", Dimensions: 768, Metric: "cosine"})
	if err != nil || !found {
		t.Fatalf("describe kb: %v (found %v)", err, found)
	}
	return got.Count
}

// e2eCFFlow is a flow on the Workers AI emulator; %s is the emulator's API base.
const e2eCFFlow = `
aiflow: 1
name: cf
vars:
  q: { type: string, default: "What is the capital of France?" }
providers:
  cf:
    kind: workers-ai
    account_id: ` + wiretest.CloudflareAccount + `
    api_token: ${ env("CF_TOKEN") }
    base_url: %s
models:
  fast: cf:@cf/meta/llama-3.1-8b-instruct
steps:
  answer:
    uses: generate
    model: fast
    prompt:
      system: Be brief.
      user: ${ vars.q }
    params: { max_tokens: 64, temperature: 0 }
  facts:
    uses: generate
    model: fast
    prompt:
      user: Name the city from this answer as JSON. ${ steps.answer.output.text }
    output:
      schema:
        type: object
        required: [city]
        properties: { city: { type: string } }
outputs:
  answer: ${ steps.answer.output.text }
  city: ${ steps.facts.output.json.city }
  finish: ${ steps.answer.output.finish_reason }
`

// tokenHook collects streamed token events per step.
type tokenHook struct {
	mu     sync.Mutex
	tokens map[string][]string
	stream map[string]bool
}

func (h *tokenHook) OnEvent(e engine.Event) {
	if e.Type != engine.EventToken {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tokens[e.StepID] = append(h.tokens[e.StepID], e.Text)
	h.stream[e.StepID] = e.Stream
}

// metaExecutor runs steps in process and keeps each step's Result.Meta.
type metaExecutor struct {
	mu   sync.Mutex
	meta map[string]providers.Meta
}

func (x *metaExecutor) Execute(ctx context.Context, s steps.Step, call *steps.Call) (steps.Result, error) {
	res, err := engine.InProcess{}.Execute(ctx, s, call)
	x.mu.Lock()
	x.meta[call.StepID] = res.Meta
	x.mu.Unlock()
	return res, err
}

func TestGenerateWorkersAI(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	fl := e2eFlow(t, fmt.Sprintf(e2eCFFlow, cf.APIBase()), map[string]string{"CF_TOKEN": cf.Token()})
	hook := &tokenHook{tokens: map[string][]string{}, stream: map[string]bool{}}
	res := e2eRun(t, fl, t.TempDir(), engine.RunOptions{Hooks: []engine.Hook{hook}})
	answer, _ := res.Outputs["answer"].(string)
	if !strings.Contains(answer, "capital of France") {
		t.Errorf("answer = %q, want the emulator's echo of the question", answer)
	}
	if got := strings.Join(hook.tokens["answer"], ""); got != answer || len(hook.tokens["answer"]) < 2 {
		t.Errorf("streamed %q in %d events, want the answer in pieces", got, len(hook.tokens["answer"]))
	}
	if !hook.stream["answer"] {
		t.Errorf("token events of an output step are not marked Stream")
	}
	if res.Outputs["city"] == nil || res.Outputs["city"] == "" {
		t.Errorf("city = %v, want the JSON field", res.Outputs["city"])
	}
	var sentSchema bool
	for _, r := range cf.Requests() {
		sentSchema = sentSchema || strings.Contains(string(r.Body), `"json_schema"`)
	}
	if !sentSchema {
		t.Errorf("no request asked for JSON mode")
	}
}

// TestGenerateSchemaRepair has the emulator answer JSON without the required field once.
func TestGenerateSchemaRepair(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	var mu sync.Mutex
	runs := 0
	cf.SetResponder(func(run wiretest.CFRun) (any, bool) {
		if _, json := run.Input["response_format"]; !json {
			return nil, false
		}
		mu.Lock()
		defer mu.Unlock()
		runs++
		if runs == 1 {
			return map[string]any{"response": map[string]any{"town": "Paris"}}, true
		}
		return map[string]any{"response": map[string]any{"city": "Paris"}}, true
	})
	fl := e2eFlow(t, fmt.Sprintf(e2eCFFlow, cf.APIBase()), map[string]string{"CF_TOKEN": cf.Token()})
	res := e2eRun(t, fl, t.TempDir(), engine.RunOptions{})
	if res.Outputs["city"] != "Paris" || runs != 2 {
		t.Errorf("city = %v after %d JSON runs, want Paris after 2", res.Outputs["city"], runs)
	}
}

// TestGenerateGatewayMeta sends generation through AI Gateway and checks the gateway's
// cache status reaches the step result: MISS then HIT for the JSON step (the gateway does
// not cache streamed answers, so the streaming step misses both times).
func TestGenerateGatewayMeta(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	src := strings.Replace(fmt.Sprintf(e2eCFFlow, cf.APIBase()), "    base_url: "+cf.APIBase(),
		"    base_url: "+cf.APIBase()+"\n    gateway: { id: gw, base_url: \""+cf.GatewayBase()+"\", cache_ttl: 1h }", 1)
	fl := e2eFlow(t, src, map[string]string{"CF_TOKEN": cf.Token()})
	var got []string
	for range 2 {
		x := &metaExecutor{meta: map[string]providers.Meta{}}
		e2eRun(t, fl, t.TempDir(), engine.RunOptions{Executor: x})
		got = append(got, x.meta["answer"]["cf-aig-cache-status"], x.meta["facts"]["cf-aig-cache-status"])
	}
	if d := cmp.Diff([]string{"MISS", "MISS", "MISS", "HIT"}, got); d != "" {
		t.Errorf("cf-aig-cache-status per run (-want +got):\n%s", d)
	}
}

const e2eTasksFlow = `
aiflow: 1
name: cf-tasks
vars:
  texts: { type: list }
providers:
  cf:
    kind: workers-ai
    account_id: ` + wiretest.CloudflareAccount + `
    api_token: ${ env("CF_TOKEN") }
    base_url: %s
steps:
  vecs:
    uses: embed
    model: cf:@cf/baai/bge-small-en-v1.5
    for_each: ${ vars.texts }
    batch: 4
    with:
      text: ${ each.value }
  summary:
    uses: summarize
    model: cf:@cf/facebook/bart-large-cnn
    with:
      text: ${ join(vars.texts, ". ") }
      max_length: 5
  spanish:
    uses: translate
    model: cf:@cf/meta/m2m100-1.2b
    with:
      text: ${ steps.summary.output.text }
      to: es
  tone:
    uses: classify
    model: cf:@cf/huggingface/distilbert-sst-2-int8
    with:
      text: ${ steps.summary.output.text }
outputs:
  vectors: ${ map(steps.vecs.output, .vector) }
  dims: ${ steps.vecs.output[0].dimensions }
  summary: ${ steps.summary.output.text }
  spanish: ${ steps.spanish.output.text }
  from: ${ steps.spanish.output.from }
  tone: ${ steps.tone.output.label }
`

// TestTasksWorkersAI runs embed (batched for_each), summarize, translate and classify on
// the Workers AI emulator: ten items with batch 4 make three embedding requests, and each
// item gets its own text's vector back.
func TestTasksWorkersAI(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	fl := e2eFlow(t, fmt.Sprintf(e2eTasksFlow, cf.APIBase()), map[string]string{"CF_TOKEN": cf.Token()})
	texts := []any{"a great day", "bad weather", "cats sleep", "dogs bark", "rivers flow", "trees grow",
		"stars shine", "wind blows", "snow falls", "birds sing"}
	res := e2eRun(t, fl, t.TempDir(), engine.RunOptions{Vars: map[string]any{"texts": texts}})
	embedCalls := 0
	for _, r := range cf.Requests() {
		if strings.Contains(r.Path, "bge-small") {
			embedCalls++
		}
	}
	if embedCalls != 3 {
		t.Errorf("%d embedding requests for 10 items in batches of 4, want 3", embedCalls)
	}
	vecs, _ := res.Outputs["vectors"].([]any)
	if len(vecs) != len(texts) {
		t.Fatalf("got %d vectors for %d items", len(vecs), len(texts))
	}
	for i, v := range vecs {
		want := wiretest.CFEmbedding("@cf/baai/bge-small-en-v1.5", "mean", texts[i].(string), 384)
		got := make([]float32, 0, 384)
		for _, x := range v.([]any) {
			got = append(got, float32(x.(float64)))
		}
		if !cmp.Equal(want, got) {
			t.Errorf("item %d (%q) did not get its own vector", i, texts[i])
		}
	}
	want := map[string]any{"dims": 384.0, "summary": "a great day", "spanish": "[es] a great day", "from": "en", "tone": "POSITIVE"}
	got := map[string]any{}
	for k := range want {
		got[k] = res.Outputs[k]
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outputs (-want +got):\n%s", d)
	}
}
