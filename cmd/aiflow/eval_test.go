package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aiflow/aiflow/providers/wiretest"
)

type evalDoc struct {
	Variants []struct {
		Variant string `json:"variant"`
		Rows    int    `json:"rows"`
		Metrics []struct {
			Metric   string   `json:"metric"`
			Mean     float64  `json:"mean"`
			PassRate float64  `json:"pass_rate"`
			Passed   int      `json:"passed"`
			Errors   int      `json:"errors"`
			Failed   []string `json:"threshold_failures"`
		} `json:"metrics"`
	} `json:"variants"`
	Comparisons []struct {
		Metric string `json:"metric"`
		A, B   string
		Paired struct {
			Diff   float64 `json:"difference"`
			PValue float64 `json:"p_value"`
			Test   string  `json:"test"`
		} `json:"paired"`
	} `json:"comparisons"`
	Error *struct{ Message string } `json:"error"`
}

// TestEvalExample is issue 14's check: the example eval over the offline quickstart
// search, with vector and hybrid variants on 200 labelled rows, prints both and their
// difference; hybrid finds the labelled document first more often, significantly.
func TestEvalExample(t *testing.T) {
	flow := filepath.Join("..", "..", "examples", "flows", "quickstart-search.yaml")
	state := t.TempDir()
	scores := filepath.Join(state, "scores.jsonl")
	var out, errs bytes.Buffer
	code := run([]string{"eval", flow, "--variants", "hits", "--state-dir", state, "--scores", scores}, &out, &errs)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
	}
	for _, want := range []string{"Variant vector: 200 rows, 0 failed", "Variant hybrid: 200 rows, 0 failed", "Difference (paired, same rows):", "hit@1       hybrid − vector"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	b, _ := os.ReadFile(scores)
	if n := bytes.Count(b, []byte("\n")); n != 400 {
		t.Errorf("%d score lines, want 400 (200 rows × 2 variants)", n)
	}
	out.Reset()
	if code := run([]string{"eval", flow, "--variants", "hits", "--state-dir", state, "-o", "json"}, &out, &errs); code != exitOK {
		t.Fatalf("-o json: exit %d\n%s", code, errs.String())
	}
	var doc evalDoc
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Variants) != 2 || doc.Variants[0].Variant != "vector" || doc.Variants[1].Variant != "hybrid" {
		t.Fatalf("variants %+v, want vector and hybrid", doc.Variants)
	}
	c := doc.Comparisons[0]
	if c.Metric != "hit@1" || c.Paired.Diff <= 0 || c.Paired.PValue >= 0.05 || c.Paired.Test != "sign" {
		t.Errorf("hit@1 comparison %+v: want hybrid better than vector, significant by the sign test", c)
	}
}

const evalFlow = `aiflow: 1
name: evalme
vars:
  q: { type: string }
  cf_api: { type: string, default: "http://127.0.0.1:1" }
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("AIFLOW_E2E_CF_ACCOUNT") }
    api_token: ${ env("AIFLOW_E2E_CF_TOKEN") }
    base_url: ${ vars.cf_api }
    rate_limit: "off"
models:
  grader: cf:@cf/meta/llama-3.1-8b-instruct
steps:
  answer:
    uses: transform
    with:
      expr: '${ {"text": upper(vars.q) + "!", "n": len(vars.q), "json": "{\"ok\": true}"} }'
outputs:
  text: ${ steps.answer.output.value.text }
  n: ${ steps.answer.output.value.n }
  json: ${ steps.answer.output.value.json }
`

const evalTests = `eval:
  inputs: rows.csv
  metrics:
    - { name: exact, type: exact, actual: outputs.text, expected: row.want, min_pass_rate: 0.9 }
    - { name: normalized, type: normalized, actual: outputs.text, expected: row.want }
    - { name: regex, type: regex, actual: outputs.text, pattern: "^[A-Z]+!$" }
    - { name: schema, type: json_schema, actual: outputs.json, schema: { type: object, required: [ok] } }
    - { name: length, type: numeric, actual: outputs.n, expected: row.len, tolerance: 0 }
    - { name: similar, type: similarity, model: "local:local/hash-embed", actual: outputs.text, expected: 'row.want + (row.q == "sun" ? " moon stars" : "")', min: 0.99 }
    - { name: graded, type: judge, model: grader, rubric: Shouts the question., actual: outputs.text, min_mean: 0.5 }
    - { name: cost, type: cost, max_mean: 0.5 }
`

// TestEvalMetrics checks every metric kind from the CLI over a CSV dataset, the judge
// through a Workers AI emulator (its answers cached: a second eval asks nothing), and
// that a threshold not met exits 1 and names it.
func TestEvalMetrics(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	var asked atomic.Int64
	cf.SetResponder(func(r wiretest.CFRun) (any, bool) {
		asked.Add(1)
		return map[string]any{"response": "0.8\nIt shouts."}, true
	})
	t.Setenv("AIFLOW_E2E_CF_ACCOUNT", cf.Account())
	t.Setenv("AIFLOW_E2E_CF_TOKEN", cf.Token())
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "evalme.yaml"), []byte(evalFlow), 0o644)
	os.WriteFile(filepath.Join(dir, "evalme.test.yaml"), []byte(evalTests), 0o644)
	os.WriteFile(filepath.Join(dir, "rows.csv"), []byte("q,want,len\nhi,HI!,2\nbee,bee!,3\nsun,SUN!,4\n"), 0o644)
	state := filepath.Join(dir, "state")
	for round := range 2 {
		var out, errs bytes.Buffer
		code := run([]string{"eval", filepath.Join(dir, "evalme.yaml"), "--state-dir", state, "--var", "cf_api=" + cf.APIBase(), "-o", "json"}, &out, &errs)
		if code != exitError {
			t.Fatalf("exit %d, want 1 (exact's min_pass_rate is not met)\n%s%s", code, out.String(), errs.String())
		}
		var doc evalDoc
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		got := map[string]string{}
		for _, m := range doc.Variants[0].Metrics {
			got[m.Metric] = fmt.Sprintf("passed %d, errors %d, mean %.3g, failed %v", m.Passed, m.Errors, m.Mean, m.Failed)
		}
		want := map[string]string{
			"exact":      "passed 2, errors 0, mean 0.667, failed [pass rate 0.667 is below min_pass_rate 0.900]",
			"normalized": "passed 3, errors 0, mean 1, failed []",
			"regex":      "passed 3, errors 0, mean 1, failed []",
			"schema":     "passed 3, errors 0, mean 1, failed []",
			"length":     "passed 2, errors 0, mean 0.667, failed []",
			"similar":    "passed 2, errors 0, mean 0.849, failed []", // cosine 1, 1 and 0.548 ("SUN!" against "SUN! moon stars")
			"graded":     "passed 3, errors 0, mean 0.8, failed []",
			"cost":       "passed 3, errors 0, mean 0, failed []",
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("round %d: %s: %s, want %s", round, k, got[k], w)
			}
		}
		if doc.Error == nil {
			t.Errorf("round %d: no error in the JSON document", round)
		}
	}
	if n := asked.Load(); n != 3 {
		t.Errorf("the judge was asked %d times over two evals of 3 rows, want 3 (cached the second time)", n)
	}
}

// TestEvalFileErrors: mistakes in the eval: section are reported at file:line.
func TestEvalFileErrors(t *testing.T) {
	for _, tc := range []struct{ metrics, want string }{
		{"    - { name: a, type: bleu }\n", `evalme.test.yaml:4:7: eval.metrics[0]: unknown metric type "bleu"`},
		{"    - { name: a, type: exact }\n", "eval.metrics[0]: exact needs expected:"},
		{"    - { name: a, type: regex, pattern: \"(\" }\n", "eval.metrics[0].pattern: invalid regular expression"},
		{"    - { name: a, type: latency, max: soon }\n", "eval.metrics[0].max: expected a number"},
		{"    - { name: a, type: latency, maks: 1 }\n", `eval.metrics[0].maks: unknown key "maks"`},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "evalme.yaml"), []byte(evalFlow), 0o644)
		os.WriteFile(filepath.Join(dir, "evalme.test.yaml"), []byte("eval:\n  inputs: rows.csv\n  metrics:\n"+tc.metrics), 0o644)
		var out, errs bytes.Buffer
		if code := run([]string{"eval", filepath.Join(dir, "evalme.yaml"), "--state-dir", dir}, &out, &errs); code != exitError || !strings.Contains(errs.String(), tc.want) {
			t.Errorf("metrics %q: exit %d, stderr:\n%s\nwant %q", tc.metrics, code, errs.String(), tc.want)
		}
	}
}
