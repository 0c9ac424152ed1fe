//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestE2EPostgresState runs aiflow as two machines would: two processes with state
// directories of their own (blobs) and one Postgres state. The second machine's run of
// the flow hits the first's cache; aiflow runs on either lists both runs; a second
// --resume of a run still in progress on the other machine is refused by the run's
// advisory lock; and the state URL's password appears in no output.
func TestE2EPostgresState(t *testing.T) {
	const password = "pg5-e2e-s3cret"
	stateURL := pgDatabase(t, password)
	bin := aiflowBinary(t)
	cf := wiretest.NewCloudflare(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	cf.SetResponder(func(r wiretest.CFRun) (any, bool) {
		if b, _ := json.Marshal(r.Input); strings.Contains(string(b), "hold") { // the held run stays in flight
			close(entered)
			<-release
		}
		return nil, false
	})
	env := []string{"AIFLOW_E2E_CF_ACCOUNT=" + cf.Account(), "AIFLOW_E2E_CF_TOKEN=" + cf.Token()}
	flowSrc := strings.Replace(fmt.Sprintf(lockFlow, cf.APIBase()), "user: Say hello", "user: Say ${ vars.word }", 1)
	flowSrc = strings.Replace(flowSrc, "steps:\n", "vars:\n  word: hello\nsteps:\n", 1)
	var machines [2]struct{ flow, state string }
	for i := range machines {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("machine%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		machines[i].flow, machines[i].state = filepath.Join(dir, "flow.yaml"), filepath.Join(dir, ".aiflow")
		if err := os.WriteFile(machines[i].flow, []byte(flowSrc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var outputs []string
	run := func(env []string, args ...string) procResult {
		r := aiflowCmd(t, env, args...)
		outputs = append(outputs, r.stdout, r.stderr)
		return r
	}
	// Machine 0 through the environment, machine 1 through the flag.
	env0 := append(append([]string(nil), env...), "AIFLOW_STATE_URL="+stateURL)
	first := decodeRun(t, run(env0, "run", "-o", "json", machines[0].flow))
	if first.Run.Status != "succeeded" || first.statuses()["answer"] != "succeeded" {
		t.Fatalf("first run: %s, answer %s", first.Run.Status, first.statuses()["answer"])
	}
	second := decodeRun(t, run(env, "run", "--state-url", stateURL, "-o", "json", machines[1].flow))
	if second.Run.Status != "succeeded" || second.statuses()["answer"] != "cached" {
		t.Fatalf("second machine's run: %s, answer %s; want the first's answer from the shared cache", second.Run.Status, second.statuses()["answer"])
	}
	if n := len(generateRequests(cf)); n != 1 {
		t.Errorf("the model was called %d times, want once", n)
	}
	if _, err := os.Stat(filepath.Join(machines[0].state, "state.db")); err == nil {
		t.Errorf("a state.db was created beside a Postgres state")
	}

	for i, args := range [][]string{{"runs", "-o", "json", "--state-dir", machines[0].state}, {"runs", "-o", "json", "--state-url", stateURL, machines[1].flow}} {
		r := run(env0, args...)
		if i == 1 {
			r = run(env, args...)
		}
		var doc struct {
			Runs []struct{ ID string } `json:"runs"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("aiflow %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, r.stdout, r.stderr)
		}
		ids := map[string]bool{}
		for _, x := range doc.Runs {
			ids[x.ID] = true
		}
		if i == 0 && (!ids[first.Run.RunID] || !ids[second.Run.RunID]) {
			t.Errorf("aiflow runs on machine 0 lists %v; want both %s and %s", ids, first.Run.RunID, second.Run.RunID)
		}
		if i == 1 && !ids[second.Run.RunID] {
			t.Errorf("aiflow runs of machine 1's flow lists %v; want %s", ids, second.Run.RunID)
		}
	}

	// A run in progress on machine 0; machine 1 resuming it is refused at once.
	holder := startRun(t, bin, env0, "run", "-o", "json", "--var", "word=hold", machines[0].flow)
	select {
	case <-entered:
	case err := <-holder.exited:
		t.Fatalf("held run ended (%v) before calling the model\nstderr:\n%s", err, holder.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("held run made no model call in 30s\nstderr:\n%s", holder.stderr.String())
	}
	var list struct {
		Runs []struct{ ID, Status string } `json:"runs"`
	}
	r := run(env0, "runs", "-o", "json", "--state-dir", machines[0].state)
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatal(err)
	}
	heldID := ""
	for _, x := range list.Runs {
		if x.Status == "running" {
			heldID = x.ID
		}
	}
	if heldID == "" {
		t.Fatalf("no running run listed: %+v", list.Runs)
	}
	resume := run(env, "run", "--state-url", stateURL, "--resume", heldID, machines[1].flow)
	if resume.code == 0 || !strings.Contains(resume.stderr, "already running") || !strings.Contains(resume.stderr, heldID) {
		t.Errorf("resume of a run held on another machine: exit %d, stderr %q; want a refusal naming run %s", resume.code, resume.stderr, heldID)
	}
	releaseOnce.Do(func() { close(release) })
	if held := holder.result(t); held.Run.Status != "succeeded" {
		t.Errorf("held run ended %s", held.Run.Status)
	}
	outputs = append(outputs, holder.stdout.String(), holder.stderr.String())

	bad := strings.Replace(stateURL, "127.0.0.1:", "127.0.0.1:1", 1) // an unreachable port
	r = run(env, "runs", "--state-url", bad+"&connect_timeout=2")
	if r.code == 0 {
		t.Errorf("runs on an unreachable database succeeded")
	}
	for _, o := range outputs {
		if strings.Contains(o, password) {
			t.Fatalf("the state URL's password appears in aiflow's output:\n%s", o)
		}
	}
}
