//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers/wiretest"
)

// batchResumeFlow sends seven generate items through the Workers AI Batch API in
// batches of three.
const batchResumeFlow = `aiflow: 1
name: batch-resume
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("AIFLOW_E2E_CF_ACCOUNT") }
    api_token: ${ env("AIFLOW_E2E_CF_TOKEN") }
    base_url: %s
    rate_limit: "off"
steps:
  answers:
    uses: generate
    model: cf:@cf/meta/llama-3.3-70b-instruct-fp8-fast
    for_each: ${ map(1..7, "item " + string(#)) }
    batch: { size: 3, async: true, poll: 1s }
    prompt:
      user: Repeat ${ each.value }
    params: { temperature: 0, max_tokens: 16 }
outputs:
  answers: ${ map(steps.answers.output, .text) }
`

// TestE2EBatchResumeAfterKill: `aiflow run` is killed with SIGKILL while its three
// asynchronous batches wait in the provider's queue; `aiflow run --resume last` polls
// the recorded batches instead of submitting them again (the emulator counts zero
// resubmitted items) and the outputs are complete and in item order.
func TestE2EBatchResumeAfterKill(t *testing.T) {
	bin := aiflowBinary(t)
	cf := wiretest.NewCloudflare(t)
	cf.SetBatchPolls(1 << 30) // the batches do not end while the first process waits
	env := []string{"AIFLOW_E2E_CF_ACCOUNT=" + cf.Account(), "AIFLOW_E2E_CF_TOKEN=" + cf.Token()}
	dir := t.TempDir()
	flow := filepath.Join(dir, "flow.yaml")
	if err := os.WriteFile(flow, []byte(fmt.Sprintf(batchResumeFlow, cf.APIBase())), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")

	// A poll of every batch shows each was recorded (the engine records a batch before
	// it polls): kill the run then, mid-wait.
	killWhen(t, bin, env, []string{"run", "--state-dir", state, "-o", "json", flow},
		func() bool { return len(polledBatches(cf)) >= 3 }, func() string { return fmt.Sprintf("%d batches polled", len(polledBatches(cf))) })
	if n := cf.BatchItems(); n != 7 {
		t.Fatalf("%d items submitted before the kill, want 7", n)
	}

	cf.SetBatchPolls(0)
	resumed := aiflowCmd(t, env, "run", "--resume", "last", "--state-dir", state, "-o", "json", flow)
	if resumed.code != 0 {
		t.Fatalf("resume: exit %d\nstdout:\n%s\nstderr:\n%s", resumed.code, resumed.stdout, resumed.stderr)
	}
	if n := cf.BatchItems(); n != 7 {
		t.Errorf("the resume submitted %d items again", n-7)
	}
	for i := range 7 {
		if n := cf.BatchSubmissions(fmt.Sprintf("item-%d", i)); n != 1 {
			t.Errorf("item %d submitted %d times", i, n)
		}
	}
	answers, _ := decodeRun(t, resumed).Run.Outputs["answers"].([]any)
	if len(answers) != 7 {
		t.Fatalf("answers = %v", answers)
	}
	for i, a := range answers {
		if s, _ := a.(string); !strings.Contains(s, fmt.Sprintf("item %d", i+1)) {
			t.Errorf("answer %d = %q, want the answer to item %d", i, s, i+1)
		}
	}
	if !strings.Contains(resumed.stderr, "resumed: polling batch") {
		t.Errorf("the resume's progress does not say it polls the recorded batches:\n%s", resumed.stderr)
	}
}

// polledBatches returns the request_ids the emulator has been polled for.
func polledBatches(cf *wiretest.Cloudflare) map[string]bool {
	ids := map[string]bool{}
	for _, r := range cf.Requests() {
		var body struct {
			RequestID string `json:"request_id"`
		}
		if r.RawQuery == "queueRequest=true" && json.Unmarshal(r.Body, &body) == nil && body.RequestID != "" {
			ids[body.RequestID] = true
		}
	}
	return ids
}
