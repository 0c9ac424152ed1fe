//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aiflow/aiflow/providers/wiretest"
)

// datasetRows is the size of the kill -9 dataset test; datasetPar rows run at once.
const (
	datasetRows = 40
	datasetPar  = 4
)

// datasetFlow asks a Workers AI emulator one deterministic question per row.
const datasetFlow = `aiflow: 1
name: dataset-resume
vars:
  ticket: { type: string }
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("AIFLOW_E2E_CF_ACCOUNT") }
    api_token: ${ env("AIFLOW_E2E_CF_TOKEN") }
    base_url: %s
    rate_limit: "off"
models:
  fast: cf:@cf/meta/llama-3.1-8b-instruct
steps:
  answer:
    uses: generate
    model: fast
    prompt:
      user: Summarise ${ vars.ticket }
    params: { temperature: 0, max_tokens: 16 }
outputs:
  answer: ${ steps.answer.output.text }
`

// writeDatasetFixture writes datasetFlow against the Workers AI emulator at apiBase and
// datasetRows ticket rows into a temporary folder, and names the results file there.
func writeDatasetFixture(t *testing.T, apiBase string) (flow, input, results string) {
	t.Helper()
	dir := t.TempDir()
	flow = filepath.Join(dir, "flow.yaml")
	if err := os.WriteFile(flow, []byte(fmt.Sprintf(datasetFlow, apiBase)), 0o644); err != nil {
		t.Fatal(err)
	}
	var rows strings.Builder
	for i := 1; i <= datasetRows; i++ {
		fmt.Fprintf(&rows, "{\"id\":%d,\"text\":\"ticket number %d\"}\n", i, i)
	}
	input = filepath.Join(dir, "tickets.jsonl")
	if err := os.WriteFile(input, []byte(rows.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return flow, input, filepath.Join(dir, "out.jsonl")
}

// TestE2EDatasetResumeAfterKill is issue 14: `aiflow run --inputs` is killed with SIGKILL
// in the middle of the rows; `--resume last` with the same --results finishes them, every
// row appears exactly once and in order, and no row's call is paid twice except the ones
// in flight at the kill (counted at the emulator).
func TestE2EDatasetResumeAfterKill(t *testing.T) {
	bin := aiflowBinary(t)
	cf := wiretest.NewCloudflare(t)
	cf.SetLatency(50 * time.Millisecond)
	env := []string{"AIFLOW_E2E_CF_ACCOUNT=" + cf.Account(), "AIFLOW_E2E_CF_TOKEN=" + cf.Token()}
	flow, input, results := writeDatasetFixture(t, cf.APIBase())
	args := []string{"run", flow, "--inputs", input, "--map", "ticket=text", "--results", results, "--parallelism", fmt.Sprint(datasetPar)}

	killWhen(t, bin, env, args, func() bool { return len(generateRequests(cf)) >= 15 },
		func() string { return fmt.Sprintf("%d requests", len(generateRequests(cf))) })
	seen := len(generateRequests(cf))
	before, _ := os.ReadFile(results)
	t.Logf("at the kill: %d requests, %d result lines", seen, bytes.Count(before, []byte("\n")))

	r := aiflowCmd(t, env, append(args, "--resume", "last")...)
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != datasetRows {
		t.Fatalf("%d result lines after the resume, want %d:\n%s", len(lines), datasetRows, b)
	}
	for i, l := range lines {
		var res struct {
			Row     int               `json:"row"`
			Status  string            `json:"status"`
			Input   map[string]any    `json:"input"`
			Outputs map[string]string `json:"outputs"`
		}
		if err := json.Unmarshal([]byte(l), &res); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, l)
		}
		if res.Row != i+1 || res.Status != "succeeded" || res.Input["id"] != float64(i+1) || res.Outputs["answer"] == "" {
			t.Errorf("line %d: %s; want row %d succeeded with an answer", i+1, l, i+1)
		}
	}
	checkDatasetPaidOnce(t, generateRequests(cf), seen)
}

func checkDatasetPaidOnce(t *testing.T, reqs []string, seenAtKill int) {
	t.Helper()
	per := map[string]int{}
	for _, b := range reqs {
		per[b]++
	}
	t.Logf("killed run + resume: %d requests for %d rows (%d before the kill)", len(reqs), len(per), seenAtKill)
	if len(per) != datasetRows {
		t.Errorf("%d distinct rows requested, want %d", len(per), datasetRows)
	}
	if limit := datasetRows + datasetPar; len(reqs) > limit {
		t.Errorf("%d requests across the killed run and the resume, want at most %d (%d rows + %d in flight at the kill)", len(reqs), limit, datasetRows, datasetPar)
	}
}

// TestDatasetBadInput: a --map to an unknown var or column fails before any row runs
// (no results file is written); a malformed JSONL line is a failed row naming its line,
// the other rows run, the summary counts it and the exit code is 1.
func TestDatasetBadInput(t *testing.T) {
	dir := t.TempDir()
	flow := filepath.Join(dir, "flow.yaml")
	os.WriteFile(flow, []byte("aiflow: 1\nname: up\nvars:\n  q: { type: string }\nsteps:\n  up:\n    uses: transform\n    with:\n      expr: ${ upper(vars.q) }\noutputs:\n  out: ${ steps.up.output.value }\n"), 0o644)
	input := filepath.Join(dir, "rows.jsonl")
	os.WriteFile(input, []byte("{\"question\":\"a\"}\n{\"question\": oops}\n{\"question\":\"c\"}\n"), 0o644)
	results := filepath.Join(dir, "out.jsonl")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr []string
		lines  int
	}{
		{"unknown var", []string{"--map", "qq=question"}, 1, []string{`--map qq=question: the flow has no var "qq" (did you mean "q"?)`}, -1},
		{"unknown column", []string{"--map", "q=questoin"}, 1, []string{`--map q=questoin: the dataset has no column "questoin" (did you mean "question"?)`}, -1},
		{"malformed line", []string{"--map", "q=question"}, 1, []string{"Rows: 3 run, 2 succeeded, 1 failed"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(results)
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"run", flow, "--state-dir", filepath.Join(dir, "st"), "--inputs", input, "--results", results}, tc.args...), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, stderr.String())
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			b, err := os.ReadFile(results)
			if tc.lines < 0 {
				if err == nil {
					t.Errorf("a results file was written before the error: %q", b)
				}
				return
			}
			if n := bytes.Count(b, []byte("\n")); n != tc.lines || !strings.Contains(string(b), `rows.jsonl:2: malformed JSON`) {
				t.Errorf("results: %d lines, want %d with row 2 failed at rows.jsonl:2:\n%s", n, tc.lines, b)
			}
		})
	}
}
