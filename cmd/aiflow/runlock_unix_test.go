//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aiflow/aiflow/providers/wiretest"
)

// lockFlow makes one cached generate call.
const lockFlow = `aiflow: 1
name: locked
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("AIFLOW_E2E_CF_ACCOUNT") }
    api_token: ${ env("AIFLOW_E2E_CF_TOKEN") }
    base_url: %s
    rate_limit: "off"
steps:
  answer:
    uses: generate
    model: cf:@cf/meta/llama-3.1-8b-instruct
    prompt:
      user: Say hello
    params: { temperature: 0, max_tokens: 16 }
    cache: { ttl: 24h }
outputs:
  text: ${ steps.answer.output.text }
`

// otherFlow calls no model; it shares the state directory with lockFlow.
const otherFlow = `aiflow: 1
name: other
steps:
  calc:
    uses: transform
    with:
      expr: ${ 1 + 1 }
outputs:
  value: ${ steps.calc.output.value }
`

// TestE2ERunLock is issue 11 finding 4: two `aiflow run` of the same flow on the same state
// directory used to both pay for every call. Now the second fails at once naming the
// holder (pid and run), or with --lock-timeout waits and then takes the first run's
// answers from the cache; a different flow in the same state directory still runs
// meanwhile.
func TestE2ERunLock(t *testing.T) {
	bin := aiflowBinary(t)
	cf := wiretest.NewCloudflare(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	cf.SetResponder(func(wiretest.CFRun) (any, bool) {
		held := false
		first.Do(func() { held = true })
		if held { // the first run's call stays in flight until the test releases it
			close(entered)
			<-release
		}
		return nil, false
	})
	var once sync.Once
	releaseOnce := func() { once.Do(func() { close(release) }) }
	defer releaseOnce()
	env := []string{"AIFLOW_E2E_CF_ACCOUNT=" + cf.Account(), "AIFLOW_E2E_CF_TOKEN=" + cf.Token()}
	dir := t.TempDir()
	flow, other := filepath.Join(dir, "flow.yaml"), filepath.Join(dir, "other.yaml")
	if err := os.WriteFile(flow, []byte(fmt.Sprintf(lockFlow, cf.APIBase())), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte(otherFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")

	holder := startRun(t, bin, env, "run", "--state-dir", state, "-o", "json", flow)
	select {
	case <-entered:
	case err := <-holder.exited:
		t.Fatalf("first run ended (%v) before calling the model\nstderr:\n%s", err, holder.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("first run made no model call in 30s\nstderr:\n%s", holder.stderr.String())
	}

	second := aiflowCmd(t, env, "run", "--state-dir", state, flow)
	wantPID := fmt.Sprintf("held by pid %d (aiflow run)", holder.cmd.Process.Pid)
	for _, want := range []string{"is already running", wantPID, "pass --lock-timeout to wait"} {
		if second.code == 0 || !strings.Contains(second.stderr, want) {
			t.Errorf("second run of the same flow: exit %d, stderr %q; want a failure saying %q", second.code, second.stderr, want)
		}
	}
	if r := aiflowCmd(t, env, "run", "--state-dir", state, other); r.code != 0 || !strings.Contains(r.stdout, "2") {
		t.Errorf("another flow in the same state dir while the first runs: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	waiter := startRun(t, bin, env, "run", "--lock-timeout", "1m", "--state-dir", state, "-o", "json", flow)
	releaseOnce()
	firstDoc := holder.result(t)
	waited := waiter.result(t)
	if firstDoc.Run.Status != "succeeded" || waited.Run.Status != "succeeded" {
		t.Fatalf("runs ended %s and %s, want both succeeded", firstDoc.Run.Status, waited.Run.Status)
	}
	if !strings.Contains(second.stderr, ", run "+firstDoc.Run.RunID) {
		t.Errorf("second run's error %q does not name the holder's run %s", second.stderr, firstDoc.Run.RunID)
	}
	if n := len(generateRequests(cf)); n != 1 {
		t.Errorf("the model was called %d times, want once: the waiting run should reuse the first run's answer", n)
	}
	if s := waited.statuses()["answer"]; s != "cached" {
		t.Errorf("waiting run's answer step is %s, want cached", s)
	}
}

// bgRun is an `aiflow` process running in the background.
type bgRun struct {
	cmd            *exec.Cmd
	stdout, stderr *bytes.Buffer
	exited         chan error
}

func startRun(t *testing.T, bin string, env []string, args ...string) *bgRun {
	t.Helper()
	r := &bgRun{cmd: exec.Command(bin, args...), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, exited: make(chan error, 1)}
	r.cmd.Env = append(os.Environ(), env...)
	r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.exited <- r.cmd.Wait() }()
	t.Cleanup(func() { r.cmd.Process.Kill() })
	return r
}

// result waits for the process and decodes its -o json document.
func (r *bgRun) result(t *testing.T) runDoc {
	t.Helper()
	select {
	case <-r.exited:
	case <-time.After(time.Minute):
		t.Fatalf("aiflow %s did not finish in a minute\nstderr:\n%s", strings.Join(r.cmd.Args[1:], " "), r.stderr.String())
	}
	return decodeRun(t, procResult{stdout: r.stdout.String(), stderr: r.stderr.String(), code: r.cmd.ProcessState.ExitCode()})
}
