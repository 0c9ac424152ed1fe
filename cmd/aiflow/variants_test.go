package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers/wiretest"
)

const variantFlow = `aiflow: 1
name: variants
vars:
  q: { type: string, default: bees }
  cf_api: { type: string, default: "http://127.0.0.1:1" }
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("AIFLOW_E2E_CF_ACCOUNT") }
    api_token: ${ env("AIFLOW_E2E_CF_TOKEN") }
    base_url: ${ vars.cf_api }
    rate_limit: "off"
models:
  small: cf:@cf/meta/llama-3.1-8b-instruct
steps:
  summary:
    uses: generate
    model: small
    prompt: "Summarise: ${ vars.q }"
    params: { temperature: 0 }
    variants:
      long:
        prompt: "Summarise at length: ${ vars.q }"
      short:
        prompt: "%s ${ vars.q }"
outputs:
  text: ${ steps.summary.output.text }
`

// TestVariantsCacheByContent is issue 14 part 5: eval --variants runs every variant over
// the same rows; run --variant picks one; and since calls are cached by content, editing
// one variant's prompt makes the next eval pay for that variant's rows only.
func TestVariantsCacheByContent(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	var mu sync.Mutex
	var prompts []string
	var asked atomic.Int64
	cf.SetResponder(func(r wiretest.CFRun) (any, bool) {
		asked.Add(1)
		b, _ := json.Marshal(r.Input)
		mu.Lock()
		prompts = append(prompts, string(b))
		mu.Unlock()
		return map[string]any{"response": fmt.Sprintf("answer %d", len(b))}, true
	})
	t.Setenv("AIFLOW_E2E_CF_ACCOUNT", cf.Account())
	t.Setenv("AIFLOW_E2E_CF_TOKEN", cf.Token())
	dir := t.TempDir()
	flow := filepath.Join(dir, "variants.yaml")
	write := func(short string) {
		os.WriteFile(flow, []byte(fmt.Sprintf(variantFlow, short)), 0o644)
	}
	write("In one line:")
	os.WriteFile(filepath.Join(dir, "variants.test.yaml"), []byte("eval:\n  inputs: rows.jsonl\n  metrics:\n    - { name: said, type: contains, actual: outputs.text, expected: '\"answer\"' }\n"), 0o644)
	var rows strings.Builder
	for i := range 5 {
		fmt.Fprintf(&rows, "{\"q\":\"topic %d\"}\n", i)
	}
	os.WriteFile(filepath.Join(dir, "rows.jsonl"), []byte(rows.String()), 0o644)
	state := filepath.Join(dir, "state")
	eval := func() string {
		t.Helper()
		var out, errs bytes.Buffer
		if code := run([]string{"eval", flow, "--variants", "summary", "--state-dir", state, "--var", "cf_api=" + cf.APIBase()}, &out, &errs); code != exitOK {
			t.Fatalf("eval: exit %d\n%s%s", code, out.String(), errs.String())
		}
		return out.String()
	}
	out := eval()
	if !strings.Contains(out, "Variant long: 5 rows") || !strings.Contains(out, "Variant short: 5 rows") || !strings.Contains(out, "short − long") {
		t.Errorf("eval output lacks both variants and their difference:\n%s", out)
	}
	if n := asked.Load(); n != 10 {
		t.Fatalf("first eval asked %d times, want 10 (5 rows × 2 variants)", n)
	}
	eval()
	if n := asked.Load(); n != 10 {
		t.Errorf("unchanged re-eval asked %d more times, want 0", n-10)
	}
	write("Briefly:")
	eval()
	if n := asked.Load(); n != 15 {
		t.Errorf("after editing the short variant, the eval asked %d more times, want 5 (its rows only)", n-10)
	}

	// run --variant picks one: its prompt is the one sent, and the run records it.
	var o, e bytes.Buffer
	if code := run([]string{"run", flow, "--variant", "summary=long", "--var", "q=once", "--state-dir", state, "--var", "cf_api=" + cf.APIBase()}, &o, &e); code != exitOK {
		t.Fatalf("run --variant: exit %d\n%s", code, e.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if last := prompts[len(prompts)-1]; !strings.Contains(last, "Summarise at length: once") {
		t.Errorf("run --variant summary=long sent %s", last)
	}
	st, err := store.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.ListRuns(context.Background(), store.ListRunsOpts{Limit: 1})
	if err != nil || len(runs) != 1 || runs[0].Labels["variant.summary"] != "long" {
		t.Errorf("the run does not record its variant: %v %+v", err, runs)
	}
}
