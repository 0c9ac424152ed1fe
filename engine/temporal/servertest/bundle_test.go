package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/aiflow/aiflow/engine/temporal"
	"github.com/aiflow/aiflow/internal/testfiles"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// bundledFlow reads a prompt file, a var default's file(), a glob() and each match's
// file(), on the Workers AI emulator at %s.
const bundledFlow = `aiflow: 1
name: bundled
vars:
  intro: { type: string, default: '${ file("notes/intro.txt") }' }
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("CLOUDFLARE_ACCOUNT_ID") }
    api_token: ${ env("CLOUDFLARE_API_TOKEN") }
    base_url: %s
    rate_limit: "off"
steps:
  docs:
    uses: transform
    with: { expr: '${ glob("data/*.md") }' }
  ask:
    uses: generate
    model: cf:` + fanOutModel + `
    for_each: ${ steps.docs.output.value }
    prompt:
      file: prompt.md
    params: { max_tokens: 8 }
outputs:
  answers: ${ map(steps.ask.output, .text) }
  intro: ${ vars.intro }
`

func writeBundledFlow(t *testing.T, cf *wiretest.Cloudflare) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"flow.yaml":       fmt.Sprintf(bundledFlow, cf.APIBase()),
		"prompt.md":       "Summarise ${ each.value }: ${ file(each.value) }",
		"notes/intro.txt": "hello from the notes",
	}
	for i := range 6 {
		files[fmt.Sprintf("data/doc%d.md", i)] = fmt.Sprintf("document %d is about bees", i)
	}
	testfiles.Write(t, dir, files)
	return filepath.Join(dir, "flow.yaml")
}

// TestBundleWithoutFlowDirectory: a run is submitted, then its flow's directory is
// deleted before any worker starts, and two workers start in another directory: the
// run reads its prompt file and file()/glob() targets from the bundle that travelled
// with the workflow, and its outputs are the local engine's.
func TestBundleWithoutFlowDirectory(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	env := cfEnv(cf)
	localFlow := writeBundledFlow(t, cf)
	local, code := aiflowRun(t, env, localFlow, "--state-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("local run: exit %d: %+v", code, local.Error)
	}

	s := newServer(t)
	flow := writeBundledFlow(t, cf)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, aiflowBin(t), append([]string{"run", flow, "-o", "json", "--state-dir", t.TempDir(), "--engine", "temporal"}, s.flags()...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForWorkflow(t, s)
	if err := os.RemoveAll(filepath.Dir(flow)); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	for range 2 {
		startWorkerIn(t, s, elsewhere, env)
	}
	err := cmd.Wait()
	var remote runJSON
	if jerr := json.Unmarshal(stdout.Bytes(), &remote); jerr != nil || err != nil {
		t.Fatalf("temporal run: %v; output %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	lo, _ := json.Marshal(local.Run.Outputs)
	ro, _ := json.Marshal(remote.Run.Outputs)
	if !bytes.Equal(lo, ro) {
		t.Errorf("outputs differ\nlocal:    %s\ntemporal: %s", lo, ro)
	}
}

// waitForWorkflow waits until s has a workflow execution.
func waitForWorkflow(t *testing.T, s server) {
	t.Helper()
	cl, err := client.Dial(client.Options{HostPort: s.addr, Namespace: s.ns})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	queue := s.queue // an in-process server's runs go to the default queue
	if queue == "" {
		queue = temporal.DefaultTaskQueue
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		res, err := cl.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: s.ns})
		if err == nil {
			// The server may be shared by other tests (make test-temporal): only a
			// workflow on this test's task queue is this run's.
			for _, e := range res.Executions {
				if e.GetTaskQueue() == queue {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the run's workflow did not start")
}
