package temporal_test

import (
	"testing"

	"go.temporal.io/sdk/worker"

	"github.com/aiflow/aiflow/engine/temporal"
)

// TestReplay replays histories recorded on a real server (the fanout example, by
// servertest's TestReplayRecordedHistory -update) with this build's workflow: a change
// to the interpreter that would break runs in flight fails here; put it behind
// workflow.GetVersion instead. Each interpreter version keeps its recording: version 1
// (budget checked after the fact) and version 2 (budget reserved before scheduling,
// big fan-outs in child workflows, the bundle in the input; children-history-v2.json is
// a fan-out split into child workflows, by servertest's TestReplayChildrenHistory).
func TestReplay(t *testing.T) {
	for _, file := range []string{"testdata/fanout-history.json", "testdata/fanout-history-v2.json", "testdata/children-history-v2.json"} {
		t.Run(file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			temporal.RegisterWorkflows(r)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatal(err)
			}
		})
	}
}
