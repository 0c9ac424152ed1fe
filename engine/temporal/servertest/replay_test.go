package servertest

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/aiflow/aiflow/engine/temporal"
)

var update = flag.Bool("update", false, "rewrite the recorded history of the newest interpreter in ../testdata")

// replayHistory is the newest interpreter's recorded history, which the main module's
// replay test replays beside the older versions' (kept as they were recorded).
const replayHistory = "../testdata/fanout-history-v2.json"

// TestReplayRecordedHistory runs the fanout example on a real server and replays its
// history with this build's workflow: the interpreter must be deterministic. With
// -update it records the history for engine/temporal's TestReplay, which checks that
// later changes to the workflow still replay runs in flight.
func TestReplayRecordedHistory(t *testing.T) {
	s := newServer(t)
	startWorker(t, s, nil)
	flow, err := filepath.Abs(filepath.Join(repoRoot, "examples", "flows", "fanout.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, code := aiflowRun(t, nil, flow, append([]string{"--state-dir", t.TempDir(), "--engine", "temporal"}, s.flags()...)...)
	if code != 0 {
		t.Fatalf("run: exit %d: %+v", code, out.Error)
	}
	cl, err := client.Dial(client.Options{HostPort: s.addr, Namespace: s.ns})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	h, err := History(context.Background(), cl, temporal.WorkflowID(out.Run.RunID))
	if err != nil {
		t.Fatal(err)
	}
	r := sdkworker.NewWorkflowReplayer()
	temporal.RegisterWorkflows(r)
	if err := r.ReplayWorkflowHistory(nil, h); err != nil {
		t.Fatalf("replaying the run's own history: %v", err)
	}
	if *update {
		b, err := protojson.MarshalOptions{Multiline: true}.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(replayHistory, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
