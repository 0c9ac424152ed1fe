//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// imageResumeFlow draws twelve images with FLUX.1 schnell, three at a time.
const imageResumeFlow = `aiflow: 1
name: image-resume
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("AIFLOW_E2E_CF_ACCOUNT") }
    api_token: ${ env("AIFLOW_E2E_CF_TOKEN") }
    base_url: %s
    rate_limit: "off"
    concurrency: %d
steps:
  draw:
    uses: generate-image
    model: cf:@cf/black-forest-labs/flux-1-schnell
    for_each: ${ map(1..%d, "subject " + string(#)) }
    with:
      prompt: ${ each.value }
      steps: 4
outputs:
  images: ${ map(steps.draw.output, .image) }
`

// TestE2EImageFanOutResumeAfterKill is issue 17's check: `aiflow run` is killed with
// SIGKILL in the middle of a fan-out of images; `aiflow run --resume last` draws only
// what was not finished (only calls in flight or not yet recorded at the kill are sent
// again), and
// every image blob of the resumed run is intact (its bytes hash to its sha256).
func TestE2EImageFanOutResumeAfterKill(t *testing.T) {
	const images, inFlight = 12, 3
	bin := aiflowBinary(t)
	cf := wiretest.NewCloudflare(t)
	cf.SetLatency(150 * time.Millisecond)
	env := []string{"AIFLOW_E2E_CF_ACCOUNT=" + cf.Account(), "AIFLOW_E2E_CF_TOKEN=" + cf.Token()}
	dir := t.TempDir()
	flow := filepath.Join(dir, "flow.yaml")
	if err := os.WriteFile(flow, []byte(fmt.Sprintf(imageResumeFlow, cf.APIBase(), inFlight, images)), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	killWhen(t, bin, env, []string{"run", "--state-dir", state, "-o", "json", flow},
		func() bool { return cf.Images() >= 5 }, func() string { return fmt.Sprintf("%d images drawn", cf.Images()) })
	drawnBeforeKill := cf.Images()

	cf.SetLatency(0)
	resumed := aiflowCmd(t, env, "run", "--resume", "last", "--state-dir", state, "-o", "json", flow)
	if resumed.code != 0 {
		t.Fatalf("resume: exit %d\nstdout:\n%s\nstderr:\n%s", resumed.code, resumed.stdout, resumed.stderr)
	}
	perPrompt := map[string]int{}
	total := 0
	for _, r := range cf.Requests() {
		if !strings.HasSuffix(r.Path, "/ai/run/@cf/black-forest-labs/flux-1-schnell") {
			continue
		}
		var in struct{ Prompt string }
		if err := json.Unmarshal(r.Body, &in); err != nil {
			t.Fatal(err)
		}
		perPrompt[in.Prompt]++
		total++
	}
	t.Logf("%d images drawn before the kill, %d requests in all", drawnBeforeKill, total)
	if len(perPrompt) != images {
		t.Errorf("%d distinct prompts drawn, want %d", len(perPrompt), images)
	}
	// Sent again on resume may be: the calls in flight at the kill (at most the provider's
	// concurrency) and answers that arrived but were not yet recorded (each held a slot
	// a moment before). A resume that redrew everything would send 12 more.
	if limit := images + 2*inFlight; total > limit {
		t.Errorf("%d image requests across the killed run and the resume, want at most %d (%d images + calls in flight or unrecorded at the kill): %v", total, limit, images, perPrompt)
	}
	if drawnBeforeKill < 5 || total-images > drawnBeforeKill {
		t.Errorf("%d drawn before the kill and %d requests in all: the resume drew finished images again", drawnBeforeKill, total)
	}
	out, _ := decodeRun(t, resumed).Run.Outputs["images"].([]any)
	if len(out) != images {
		t.Fatalf("%d images in the outputs, want %d", len(out), images)
	}
	store := blob.NewStore(engine.BlobDir(state))
	for i, v := range out {
		b, ok := blob.FromValue(v)
		if !ok {
			t.Fatalf("image %d = %v, not a blob", i, v)
		}
		r, err := store.Open(b)
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil { // Open's reader checks the hash at EOF
			t.Errorf("image %d (%s): %v", i, b.SHA256, err)
		}
		r.Close()
	}
}
