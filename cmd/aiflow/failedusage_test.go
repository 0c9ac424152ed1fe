package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aiflow/aiflow/providers/wiretest"
)

// failingRepairFlow asks llama-3.1-8b-instruct (JSON mode, priced) for an object the
// emulator never gives: every answer lacks the required "title". %s is for_each or "".
const failingRepairFlow = `aiflow: 1
name: repair
providers:
  cf:
    kind: workers-ai
    account_id: %s
    api_token: ${ env("CLOUDFLARE_API_TOKEN") }
    base_url: %s
steps:
  extract:
    uses: generate
    model: cf:@cf/meta/llama-3.1-8b-instruct
%s    prompt:
      user: Give me a title.
    output:
      schema:
        type: object
        required: [title]
        properties:
          title: {type: string}
`

// TestFailedRepairsAreCounted is issue 12's bug 3 at the CLI: generate answers whose JSON
// repair failed were paid for, so the run summary, run -o json, runs and runs show must
// count their tokens and cost instead of "Tokens: 0 in, 0 out. Cost: $0.000000".
func TestFailedRepairsAreCounted(t *testing.T) {
	tests := []struct {
		name    string
		forEach string
		calls   int // model answers: three per call (one try, two repairs)
		rows    []string
	}{
		{"one step", "", 3, []string{"-"}},
		{"for_each items", "    for_each: [a, b]\n    continue_on_error: true # every item runs, whichever fails first\n", 6, []string{"0", "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			var answers atomic.Int64
			cf.SetResponder(func(r wiretest.CFRun) (any, bool) {
				if r.Task != "generate" {
					return nil, false
				}
				answers.Add(1)
				return map[string]any{"response": map[string]any{"name": "no title"},
					"usage": map[string]any{"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}}, true
			})
			t.Setenv("CLOUDFLARE_API_TOKEN", cf.Token())
			dir := t.TempDir()
			flow := filepath.Join(dir, "flow.yaml")
			if err := os.WriteFile(flow, []byte(fmt.Sprintf(failingRepairFlow, cf.Account(), cf.APIBase(), tt.forEach)), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errs bytes.Buffer
			if code := run([]string{"run", flow}, &out, &errs); code != exitError {
				t.Fatalf("run: exit %d, want %d\n%s%s", code, exitError, out.String(), errs.String())
			}
			if n := answers.Load(); n != int64(tt.calls) {
				t.Fatalf("the model answered %d times, want %d", n, tt.calls)
			}
			in, outTok := 100*tt.calls, 10*tt.calls // the emulator's usage is fixed per answer
			summary := regexp.MustCompile(`Tokens: (\d+) in, (\d+) out\. Cost: \$([0-9.]+)`).FindStringSubmatch(out.String() + errs.String())
			if summary == nil {
				t.Fatalf("no summary line in:\n%s%s", out.String(), errs.String())
			}
			if summary[1] != fmt.Sprint(in) || summary[2] != fmt.Sprint(outTok) || summary[3] == "0.000000" {
				t.Errorf("summary %q; want %d in, %d out and a cost above zero", summary[0], in, outTok)
			}

			out.Reset()
			if code := run([]string{"runs", "-o", "json", flow}, &out, &errs); code != exitOK {
				t.Fatalf("runs: exit %d\n%s", code, errs.String())
			}
			var list struct {
				Runs []runJSON `json:"runs"`
			}
			if err := json.Unmarshal(out.Bytes(), &list); err != nil || len(list.Runs) != 1 {
				t.Fatalf("runs -o json: %v\n%s", err, out.String())
			}
			r := list.Runs[0]
			if r.Usage.InputTokens != in || r.Usage.OutputTokens != outTok || r.Usage.USD <= 0 || r.Usage.Requests != tt.calls {
				t.Errorf("runs: usage %+v; want %d in, %d out, %d requests and a cost", r.Usage, in, outTok, tt.calls)
			}

			out.Reset()
			if code := run([]string{"runs", "show", r.ID, flow}, &out, &errs); code != exitOK {
				t.Fatalf("runs show: exit %d\n%s", code, errs.String())
			}
			for _, item := range tt.rows {
				row := regexp.MustCompile(`(?m)^  extract +` + item + ` +failed +\S+ +(\d+) +(\d+) `).FindStringSubmatch(out.String())
				if row == nil || row[2] != "330" {
					t.Errorf("runs show: the failed row of item %s should count 330 tokens:\n%s", item, out.String())
				}
			}
			whole := regexp.MustCompile(`(?m)^  extract +- +failed +\S+ +(\d+) +(\d+) `).FindStringSubmatch(out.String())
			if want := fmt.Sprint(330 * len(tt.rows)); whole == nil || whole[2] != want || whole[1] != fmt.Sprint(len(tt.rows)) {
				t.Errorf("runs show: the step's row should count %d attempts (repairs are turns of one) and %s tokens:\n%s", len(tt.rows), want, out.String())
			}
			if !strings.Contains(out.String(), "without JSON matching output.schema") {
				t.Errorf("runs show does not say why the step failed:\n%s", out.String())
			}
		})
	}
}
