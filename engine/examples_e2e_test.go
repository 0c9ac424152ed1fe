package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
	"github.com/aiflow/aiflow/providers/workersai"
	"github.com/aiflow/aiflow/spec"
)

// Workers AI models the example flows and the fallback flow call.
const (
	bartModel    = "@cf/facebook/bart-large-cnn"
	m2mModel     = "@cf/meta/m2m100-1.2b"
	sst2Model    = "@cf/huggingface/distilbert-sst-2-int8"
	primaryModel = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	backupModel  = "@cf/meta/llama-3.1-8b-instruct"
)

// cfRunPath is the REST path of a model run on the emulator, model id slashes raw.
func cfRunPath(model string) string {
	return "/client/v4/accounts/" + wiretest.CloudflareAccount + "/ai/run/" + model
}

// cfEnv is the environment the example flows read their Cloudflare credentials from.
func cfEnv(cf *wiretest.Cloudflare) map[string]string {
	return map[string]string{"CLOUDFLARE_ACCOUNT_ID": cf.Account(), "CLOUDFLARE_API_TOKEN": cf.Token()}
}

// sentInputs decodes the bodies of the recorded requests to one model path.
func sentInputs(t *testing.T, cf *wiretest.Cloudflare, model string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range cf.Requests() {
		if r.Path != cfRunPath(model) {
			continue
		}
		var in map[string]any
		if err := json.Unmarshal(r.Body, &in); err != nil {
			t.Fatalf("request to %s: %v", model, err)
		}
		out = append(out, in)
	}
	return out
}

// sentPaths lists the recorded request paths, sorted.
func sentPaths(cf *wiretest.Cloudflare) []string {
	var out []string
	for _, r := range cf.Requests() {
		out = append(out, r.Path)
	}
	sort.Strings(out)
	return out
}

// TestSummariseAndTranslateExampleOnWorkersAI runs examples/flows/summarise-and-translate.yaml
// with engine=cloudflare against the emulator: bart summarises (its first sentence, cut to
// max_length words), m2m100 translates ("[lang] text") and distilbert-sst-2 tags the tone
// (a small lexicon; a tie ranks NEGATIVE first).
func TestSummariseAndTranslateExampleOnWorkersAI(t *testing.T) {
	honeybees, err := os.ReadFile("../examples/flows/data/honeybees.md")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		vars     map[string]any
		document string
		lang     string
		want     map[string]any
	}{
		{"default document", nil, string(honeybees), "es", map[string]any{
			"summary": "# Honeybees and pollination Honeybees are social insects that live in colonies of tens of thousands of individuals", "translation": "[es] # Honeybees and pollination Honeybees are social insects that live in colonies of tens of thousands of individuals", "tone": "NEGATIVE"}},
		{"positive document", map[string]any{"document": "Bees are wonderful pollinators. They visit flowers.", "target_lang": "es"},
			"Bees are wonderful pollinators. They visit flowers.", "es", map[string]any{
				"summary": "Bees are wonderful pollinators", "translation": "[es] Bees are wonderful pollinators", "tone": "POSITIVE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			vars := map[string]any{"engine": "cloudflare", "cf_api": cf.APIBase()}
			for k, v := range tt.vars {
				vars[k] = v
			}
			fl := fileFlow(t, "../examples/flows/summarise-and-translate.yaml", cfEnv(cf))
			res := e2eRun(t, fl, t.TempDir(), engine.RunOptions{Vars: vars})
			if d := cmp.Diff(tt.want, res.Outputs); d != "" {
				t.Errorf("outputs (-want +got):\n%s", d)
			}
			wantPaths := []string{cfRunPath(bartModel), cfRunPath(sst2Model), cfRunPath(m2mModel)}
			sort.Strings(wantPaths)
			if d := cmp.Diff(wantPaths, sentPaths(cf)); d != "" {
				t.Errorf("request paths (-want +got):\n%s", d)
			}
			summary := fmt.Sprint(tt.want["summary"])
			sent := map[string][]map[string]any{
				bartModel: sentInputs(t, cf, bartModel), m2mModel: sentInputs(t, cf, m2mModel), sst2Model: sentInputs(t, cf, sst2Model)}
			want := map[string][]map[string]any{
				// bart-large-cnn reads max_length as tokens (cloudflare-docs:
				// src/content/workers-ai-models/bart-large-cnn.json, default 1024): the
				// example's 3 (sentences, for the local summariser) would cut it to 3 tokens.
				bartModel: {{"input_text": tt.document, "max_length": 256.0}},
				m2mModel:  {{"text": summary, "source_lang": "en", "target_lang": tt.lang}},
				sst2Model: {{"text": summary}},
			}
			if d := cmp.Diff(want, sent); d != "" {
				t.Errorf("request bodies (-want +got):\n%s", d)
			}
		})
	}
}

// classifyMessages carry words of the emulator's sentiment lexicon, so that its answers
// differ per message.
var classifyMessages = []any{
	"I love the new dashboard, setup was great and everything just works.",
	"I was charged twice on my invoice and nobody answers. Terrible.",
	"How can I rotate my API token without downtime? Any help is nice.",
	"The deploy failed again with a timeout error, the worst bug this month.",
}

// TestClassifyExampleOnWorkersAI runs examples/flows/classify.yaml with engine=cloudflare:
// sentiment comes from distilbert-sst-2 on the emulator (one request per message), topics
// from the local zero-shot model.
func TestClassifyExampleOnWorkersAI(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	fl := fileFlow(t, "../examples/flows/classify.yaml", cfEnv(cf))
	vars := map[string]any{"engine": "cloudflare", "cf_api": cf.APIBase(), "messages": classifyMessages}
	res := e2eRun(t, fl, t.TempDir(), engine.RunOptions{Vars: vars})
	sentiments := []string{"POSITIVE", "NEGATIVE", "POSITIVE", "NEGATIVE"}
	topics := []string{"praise", "billing", "question", "bug"}
	var want []any
	for i, m := range classifyMessages {
		want = append(want, map[string]any{"message": m, "sentiment": sentiments[i], "topic": topics[i]})
	}
	if d := cmp.Diff(want, res.Outputs["results"]); d != "" {
		t.Errorf("results (-want +got):\n%s", d)
	}
	var texts []string
	for _, in := range sentInputs(t, cf, sst2Model) {
		texts = append(texts, fmt.Sprint(in["text"]))
	}
	sort.Strings(texts)
	wantTexts := make([]string, len(classifyMessages))
	for i, m := range classifyMessages {
		wantTexts[i] = m.(string)
	}
	sort.Strings(wantTexts)
	if d := cmp.Diff(wantTexts, texts); d != "" {
		t.Errorf("texts sent to distilbert (-want +got):\n%s", d)
	}
	if n := cf.Count(); n != len(classifyMessages) {
		t.Errorf("%d requests reached the emulator, want %d (topics stay local)", n, len(classifyMessages))
	}
}

// TestExamplesOfflineMakeNoRequests runs both example flows with engine=local while their
// workers-ai provider points at the emulator with valid credentials: the outputs come
// from the local models and nothing reaches the emulator.
func TestExamplesOfflineMakeNoRequests(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		check func(t *testing.T, out map[string]any)
	}{
		{"summarise-and-translate", "../examples/flows/summarise-and-translate.yaml", func(t *testing.T, out map[string]any) {
			summary, _ := out["summary"].(string)
			translation, _ := out["translation"].(string)
			tone, _ := out["tone"].(string)
			if !strings.Contains(summary, "Honeybees") || translation == "" || translation == summary || tone == "" {
				t.Errorf("outputs = %v, want a summary of honeybees.md, its translation and a tone", out)
			}
		}},
		{"classify", "../examples/flows/classify.yaml", func(t *testing.T, out map[string]any) {
			rows, _ := out["results"].([]any)
			if len(rows) != 4 {
				t.Fatalf("results = %v, want 4 rows", out["results"])
			}
			for i, r := range rows {
				row, _ := r.(map[string]any)
				if row["message"] == "" || row["sentiment"] == "" || row["topic"] == "" || row["sentiment"] == nil || row["topic"] == nil {
					t.Errorf("row %d = %v, want a message, a sentiment and a topic", i, r)
				}
			}
		}},
		{"pdf-rag-ingest", "../examples/flows/pdf-rag-ingest.yaml", func(t *testing.T, out map[string]any) {
			checkPDFRAGIngest(t, out, []string{"text/html", "application/pdf", "application/pdf"})
			md, _ := out["markdown"].([]any)
			if len(md) == 3 && (!strings.Contains(fmt.Sprint(md[0]), "# Coral reefs") || !strings.Contains(fmt.Sprint(md[2]), "Sihwa Lake")) {
				t.Errorf("markdown = %q, want the HTML page's heading and the PDF's second page", md)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "summarise-and-translate" {
				requireApertium(t)
			}
			cf := wiretest.NewCloudflare(t)
			res := e2eRun(t, fileFlow(t, tt.path, cfEnv(cf)), t.TempDir(), engine.RunOptions{Vars: map[string]any{"cf_api": cf.APIBase()}})
			tt.check(t, res.Outputs)
			if n := cf.Count(); n != 0 {
				t.Errorf("%d requests reached the emulator offline: %v", n, sentPaths(cf))
			}
		})
	}
}

// fallbackFlow routes a generation to a primary Workers AI model with a backup; %s is the
// emulator's API base. The client-side rate limit is off so retries are not spaced out.
const fallbackFlow = `
aiflow: 1
name: fallback
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("CLOUDFLARE_ACCOUNT_ID") }
    api_token: ${ env("CLOUDFLARE_API_TOKEN") }
    base_url: %s
    rate_limit: "off"
models:
  primary: cf:` + primaryModel + `
  backup: cf:` + backupModel + `
routes:
  writer:
    rules: [{use: primary}]
    fallback: [backup]
steps:
  answer:
    uses: generate
    route: writer
    prompt: Name the capital of France.
    params: {temperature: 0}
outputs:
  text: ${ steps.answer.output.text }
`

// fastRetryAttempts is how many HTTP attempts the workers-ai provider of the fallback
// tests makes before giving up.
const fastRetryAttempts = 3

// fastRetryProviders is a registry holding the real workers-ai provider with its HTTP
// retries cut to fastRetryAttempts a millisecond apart (no flow setting shortens them).
func fastRetryProviders(t *testing.T) *providers.Registry {
	t.Helper()
	info, ok := providers.Default().Lookup(workersai.Kind)
	if !ok {
		t.Fatal("workers-ai is not registered")
	}
	open := info.New
	info.New = func(cfg providers.Config) (providers.Provider, error) {
		cfg.Retry = providers.RetryPolicy{Attempts: fastRetryAttempts, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
		return open(cfg)
	}
	reg := providers.NewRegistry()
	if err := reg.Register(info); err != nil {
		t.Fatal(err)
	}
	return reg
}

// fallbackRun compiles fallbackFlow against cf and runs it; the run error is returned
// with the result and the step's record.
func fallbackRun(t *testing.T, cf *wiretest.Cloudflare) (*engine.RunResult, store.StepRecord, error) {
	t.Helper()
	f, diags := spec.Parse("fallback.yaml", []byte(fmt.Sprintf(fallbackFlow, cf.APIBase())))
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	env := cfEnv(cf)
	fl, diags := engine.Compile(f, engine.Options{Providers: fastRetryProviders(t),
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if diags.HasErrors() {
		t.Fatalf("compile: %v", diags)
	}
	st := openStore(t)
	res, runErr := fl.Run(context.Background(), engine.RunOptions{Store: st})
	if res == nil {
		t.Fatalf("run: %v", runErr)
	}
	recs, err := st.Steps(context.Background(), res.RunID)
	if err != nil || len(recs) != 1 {
		t.Fatalf("step records %+v (%v), want one", recs, err)
	}
	return res, recs[0], runErr
}

// modelNamer answers every generation with the model's id, so a test sees who answered.
func modelNamer(run wiretest.CFRun) (any, bool) {
	if run.Task != "generate" {
		return nil, false
	}
	return map[string]any{"response": "answered by " + run.Model, "tool_calls": []any{},
		"usage": map[string]any{"prompt_tokens": 6, "completion_tokens": 3, "total_tokens": 9}}, true
}

// countPath counts recorded requests to path.
func countPath(cf *wiretest.Cloudflare, path string) int {
	n := 0
	for _, r := range cf.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// TestRouteFallbackOnWorkersAI fails the primary model of a route on the emulator until
// the provider gives up, and checks the backup answers and the run record says why.
func TestRouteFallbackOnWorkersAI(t *testing.T) {
	tests := []struct {
		name        string
		fault       wiretest.Fault
		primaryHits int    // requests the primary model gets
		reason      string // part of the recorded fallback reason
	}{
		{"429 capacity", wiretest.CFCapacityFault(""), fastRetryAttempts, "HTTP 429 (code 3040)"},
		{"503 unavailable", wiretest.CFUnavailableFault(), fastRetryAttempts, "HTTP 503"},
		{"429 daily quota, not retried", wiretest.CFDailyQuotaFault(), 1, "HTTP 429 (code 3036)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			cf.SetResponder(modelNamer)
			f := tt.fault
			f.Path, f.Times = cfRunPath(primaryModel), 10
			cf.Faults.Add(f)
			res, rec, err := fallbackRun(t, cf)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if got, want := res.Outputs["text"], "answered by "+backupModel; got != want {
				t.Errorf("answer %q, want %q", got, want)
			}
			if rec.Status != store.StepSucceeded || rec.Model != "cf:"+backupModel ||
				!strings.Contains(rec.Reason, "fell back") || !strings.Contains(rec.Reason, tt.reason) {
				t.Errorf("record status %q model %q reason %q; want the backup model and why it fell back (%s)", rec.Status, rec.Model, rec.Reason, tt.reason)
			}
			hits := map[string]int{"primary": countPath(cf, cfRunPath(primaryModel)), "backup": countPath(cf, cfRunPath(backupModel))}
			if d := cmp.Diff(map[string]int{"primary": tt.primaryHits, "backup": 1}, hits); d != "" {
				t.Errorf("requests per model (-want +got):\n%s", d)
			}
			if strings.Contains(rec.Reason, cf.Token()) {
				t.Errorf("reason %q holds the API token", rec.Reason)
			}
		})
	}
}

// TestRouteNoFallbackOnWorkersAIBadRequest checks that a 400/5007 on the primary model
// fails the step at once: no retry, no request to the backup.
func TestRouteNoFallbackOnWorkersAIBadRequest(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.SetResponder(modelNamer)
	cf.Faults.Add(wiretest.Fault{Path: cfRunPath(primaryModel), Times: 10, Status: 400, Code: "5007", Message: "No such model " + primaryModel + " or task"})
	res, rec, err := fallbackRun(t, cf)
	if err == nil {
		t.Fatalf("run succeeded with outputs %v, want the step to fail", res.Outputs)
	}
	if rec.Status != store.StepFailed || !strings.Contains(rec.Error, "5007") || strings.Contains(rec.Reason, "fell back") {
		t.Errorf("record status %q error %q reason %q; want a failure naming 5007 and no fallback", rec.Status, rec.Error, rec.Reason)
	}
	hits := map[string]int{"primary": countPath(cf, cfRunPath(primaryModel)), "backup": countPath(cf, cfRunPath(backupModel))}
	if d := cmp.Diff(map[string]int{"primary": 1, "backup": 0}, hits); d != "" {
		t.Errorf("requests per model (-want +got):\n%s", d)
	}
}

// TestStepRetryGovernsProviderAttempts: with retry: on a step, its attempts are the only
// retries — the provider client makes one HTTP attempt per step attempt — so three
// attempts cost three requests, not three times the client's own retries.
func TestStepRetryGovernsProviderAttempts(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.SetResponder(modelNamer)
	f := wiretest.CFUnavailableFault()
	f.Path, f.Times = cfRunPath(primaryModel), 2
	cf.Faults.Add(f)
	src := cfFlow(cf, "", `
  gen:
    uses: generate
    model: cf:`+primaryModel+`
    prompt: hello
    params: { temperature: 0 }
    retry: { attempts: 3, backoff: 1ms }
outputs:
  text: ${ steps.gen.output.text }
`)
	fl := e2eFlow(t, src, cfEnv(cf))
	res := e2eRun(t, fl, t.TempDir(), engine.RunOptions{})
	if got := countPath(cf, cfRunPath(primaryModel)); got != 3 {
		t.Errorf("%d requests for 3 step attempts (two failures, then success)", got)
	}
	if res.Steps[0].Attempts != 3 || res.Outputs["text"] != "answered by "+primaryModel {
		t.Errorf("attempts %d, outputs %v", res.Steps[0].Attempts, res.Outputs)
	}
}

// TestStepCacheReachesGateway: a step's cache: becomes AI Gateway's cache headers for
// its calls, over the provider's gateway defaults.
func TestStepCacheReachesGateway(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.SetResponder(modelNamer)
	gen := func(id, prompt, cache string) string {
		return fmt.Sprintf("\n  %s:\n    uses: generate\n    model: cf:%s\n    prompt: %s\n    params: { temperature: 0 }\n%s", id, primaryModel, prompt, cache)
	}
	src := cfFlow(cf, fmt.Sprintf("    gateway: { id: gw, base_url: %q, cache_ttl: 1h }\n", cf.GatewayBase()),
		gen("fresh", "never from a cache", "    cache: off\n")+
			gen("short", "cache me briefly", "    cache: { ttl: 30m }\n")+
			gen("default", "provider defaults", ""))
	fl := e2eFlow(t, src, cfEnv(cf))
	e2eRun(t, fl, t.TempDir(), engine.RunOptions{})
	got := map[string][2]string{}
	for _, r := range cf.Requests() {
		var body struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		if json.Unmarshal(r.Body, &body) != nil || len(body.Messages) == 0 {
			continue
		}
		got[body.Messages[len(body.Messages)-1].Content] = [2]string{r.Header.Get("cf-aig-skip-cache"), r.Header.Get("cf-aig-cache-ttl")}
	}
	want := map[string][2]string{
		"never from a cache": {"true", "3600"},
		"cache me briefly":   {"", "1800"},
		"provider defaults":  {"", "3600"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("gateway headers per step [skip-cache, cache-ttl] (-want +got):\n%s", d)
	}
}

// TestProviderRetrySetting: a provider's retry: sets its HTTP client's attempts.
func TestProviderRetrySetting(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.SetResponder(modelNamer)
	f := wiretest.CFUnavailableFault()
	f.Path, f.Times = cfRunPath(primaryModel), 5
	cf.Faults.Add(f)
	src := cfFlow(cf, "    retry: { attempts: 2, backoff: 1ms, max_backoff: 5ms }\n", `
  gen:
    uses: generate
    model: cf:`+primaryModel+`
    prompt: hello
    params: { temperature: 0 }
`)
	fl := e2eFlow(t, src, cfEnv(cf))
	st := openStore(t)
	if _, err := fl.Run(context.Background(), engine.RunOptions{Store: st}); err == nil {
		t.Fatal("want the run to fail after the provider's two attempts")
	}
	if got := countPath(cf, cfRunPath(primaryModel)); got != 2 {
		t.Errorf("%d requests; the provider's retry: allows 2 attempts", got)
	}
	bad := strings.Replace(src, "retry: { attempts: 2, backoff: 1ms, max_backoff: 5ms }", "retry: { attempt: 2 }", 1)
	parsed, _ := spec.Parse("bad.yaml", []byte(bad))
	_, diags := engine.Compile(parsed, engine.Options{LookupEnv: func(string) (string, bool) { return "x", true }})
	if !diags.HasErrors() || !strings.Contains(diags.Errors()[0].String(), `unknown key "attempt" (did you mean "attempts"?)`) {
		t.Errorf("a misspelt retry key: %v", diags)
	}
}

// cfFlow is a flow whose provider cf is Workers AI on the emulator (rate limit off), with
// extra provider settings (indented lines) and the given steps: (and outputs:) YAML.
func cfFlow(cf *wiretest.Cloudflare, providerExtra, steps string) string {
	return fmt.Sprintf(`aiflow: 1
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("CLOUDFLARE_ACCOUNT_ID") }
    api_token: ${ env("CLOUDFLARE_API_TOKEN") }
    base_url: %s
    rate_limit: "off"
`, cf.APIBase()) + providerExtra + "steps:" + steps
}

// requireApertium skips a test of the offline translator when the apertium command is
// missing, but fails it under `make test` (AIFLOW_REQUIRE_APERTIUM=1), which installs it.
func requireApertium(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("apertium"); err != nil {
		if os.Getenv("AIFLOW_REQUIRE_APERTIUM") == "1" || os.Getenv("CI") == "true" {
			t.Fatalf("apertium is missing though `make test` installs it (.ci/deps): %v", err)
		}
		t.Skip("needs the apertium command (apt-get install apertium apertium-eng-spa, or make test)")
	}
}
