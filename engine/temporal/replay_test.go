package temporal_test

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aiflow/aiflow/engine/temporal"
)

// TestReplay replays a history recorded on a real server (the fanout example, by
// servertest's TestReplayRecordedHistory -update) with this build's workflow: a change
// to the interpreter that would break runs in flight fails here; put it behind
// workflow.GetVersion instead.
func TestReplay(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(temporal.Workflow, workflow.RegisterOptions{Name: temporal.WorkflowName})
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/fanout-history.json"); err != nil {
		t.Fatal(err)
	}
}
