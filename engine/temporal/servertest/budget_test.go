package servertest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestBudgetAcrossWorkers: a fan-out whose budget covers a few of its items, run by two
// workers with every item free to be in flight at once, pays at most its budget at the
// emulator: the workflow reserves each item's estimate before scheduling it, so workers
// cannot together commit more than the budget. The run fails naming the budget, as a
// local run does.
func TestBudgetAcrossWorkers(t *testing.T) {
	const items, covered = 60, 10
	// One call's cost, from a local run of a single item.
	one := wiretest.NewCloudflare(t)
	oflow, ovars := writeFanOut(t, one, 1)
	local, code := aiflowRun(t, cfEnv(one), oflow, "--vars-file", ovars, "--state-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("local run: exit %d: %+v", code, local.Error)
	}
	perCall := local.Run.Usage.USD
	if perCall <= 0 {
		t.Fatalf("one call cost $%v at the emulator; the test needs a priced model", perCall)
	}
	budget := perCall*covered + perCall/2

	s := newServer(t)
	cf := wiretest.NewCloudflare(t)
	flow, vars := writeFanOut(t, cf, items)
	env := cfEnv(cf)
	for range 2 {
		startWorker(t, s, env, "--max-activities", "64")
	}
	remote, rcode := aiflowRun(t, env, flow, append([]string{"--vars-file", vars, "--state-dir", t.TempDir(), "--engine", "temporal",
		"--parallelism", "64", "--budget", fmt.Sprint(budget)}, s.flags()...)...)
	if rcode == 0 {
		t.Fatalf("temporal run succeeded over a budget covering %d of %d items", covered, items)
	}
	if remote.Error == nil || !strings.Contains(remote.Error.Message, "budget") {
		t.Errorf("error %+v, want the budget named", remote.Error)
	}
	calls := cf.Runs()
	if paid := float64(calls) * perCall; paid > budget+1e-12 {
		t.Errorf("%d calls paid $%.6f at the emulator, over the $%.6f budget", calls, paid, budget)
	}
	if calls == 0 {
		t.Error("no call was made, though the budget covers some")
	}
	if got := remote.Run.Usage.USD; got > budget+1e-12 {
		t.Errorf("the run recorded $%.6f, over the $%.6f budget", got, budget)
	}
	t.Logf("budget $%.6f covers %d calls of $%.6f; %d made", budget, covered, perCall, calls)
}
