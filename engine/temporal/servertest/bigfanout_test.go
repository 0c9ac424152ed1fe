package servertest

import (
	"context"
	"fmt"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/aiflow/aiflow/engine/temporal"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestBigFanOutInChildWorkflows: a 5,000-item fan-out (one activity per item) completes
// with every item paid once, its items running in child workflows of at most 1,000
// activities, so the run's own history stays small (a few events per child) and no
// child's nears Temporal's 51,200-event limit.
func TestBigFanOutInChildWorkflows(t *testing.T) {
	const items = 5000
	s := newServer(t)
	cf := wiretest.NewCloudflare(t)
	flow, vars := writeFanOut(t, cf, items)
	env := cfEnv(cf)
	for range 2 {
		startWorker(t, s, env, "--max-activities", "100")
	}
	remote, code := aiflowRun(t, env, flow, append([]string{"--vars-file", vars, "--state-dir", t.TempDir(), "--engine", "temporal", "--parallelism", "200"}, s.flags()...)...)
	if code != 0 {
		t.Fatalf("temporal run: exit %d: %+v", code, remote.Error)
	}
	if texts, _ := remote.Run.Outputs["texts"].([]any); len(texts) != items {
		t.Errorf("%d texts, want %d", len(texts), items)
	}
	counts := promptCounts(t, cf)
	if len(counts) != items {
		t.Errorf("%d distinct items reached the emulator, want %d", len(counts), items)
	}
	cl, err := client.Dial(client.Options{HostPort: s.addr, Namespace: s.ns})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	events := func(id string) (n, children int) {
		h, err := History(context.Background(), cl, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range h.Events {
			if ev.GetEventType() == enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED {
				children++
			}
		}
		return len(h.Events), children
	}
	parent, children := events(temporal.WorkflowID(remote.Run.RunID))
	if children != items/temporal.DefaultChildActivities {
		t.Errorf("%d child workflows, want %d", children, items/temporal.DefaultChildActivities)
	}
	// Per child: initiated, started, completed, and a workflow task (3 events) to react.
	if limit := 100 + 10*children; parent > limit {
		t.Errorf("the run's history has %d events, want at most %d", parent, limit)
	}
	child, _ := events(fmt.Sprintf("%s-gen-0", temporal.WorkflowID(remote.Run.RunID)))
	if child == 0 || child > 51200/4 {
		t.Errorf("the first child's history has %d events, want some and well under 51,200", child)
	}
	t.Logf("run history %d events, first child %d events, %d children", parent, child, children)
}
