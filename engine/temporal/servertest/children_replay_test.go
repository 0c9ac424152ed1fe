package servertest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/engine/temporal"
)

// childrenHistory is a recorded run whose fan-out went to child workflows.
const childrenHistory = "../testdata/children-history-v2.json"

const childrenFlow = `aiflow: 1
name: children
vars:
  texts: { type: list }
steps:
  vec:
    uses: embed
    cache: off
    for_each: ${ vars.texts }
    with: { text: '${ each.value }' }
outputs:
  n: ${ len(steps.vec.output) }
`

// TestReplayChildrenHistory runs a 5-item fan-out with at most 2 item activities per
// workflow (3 child workflows) on a real server with in-process workers, and replays the
// run's and a child's histories with this build's workflows; with -update it records
// the run's for engine/temporal's TestReplay.
func TestReplayChildrenHistory(t *testing.T) {
	s := newServer(t)
	c := temporal.Conn{Address: s.addr, Namespace: s.ns, Logger: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	cl, err := temporal.Dial(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	acts := &temporal.Activities{Compile: Compile, BundleDir: t.TempDir()}
	defer acts.Close()
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go temporal.Serve(wctx, temporal.NewWorkers(cl, c, acts, temporal.WorkerOptions{Providers: []string{"local"}}))

	fl, err := Compile("children.yaml", []byte(childrenFlow), nil)
	if err != nil {
		t.Fatal(err)
	}
	texts := []any{"bees", "ants", "wasps", "moths", "flies"}
	id := store.NewRunID()
	in, err := temporal.NewInput(temporal.Submission{Flow: fl, RunID: id, StateDir: t.TempDir(), Parallelism: 2,
		Bundle: temporal.Bundle{FlowFile: "children.yaml", Source: []byte(childrenFlow), Vars: map[string]any{"texts": texts}}}, temporal.DefaultTaskQueue)
	if err != nil {
		t.Fatal(err)
	}
	in.ChildActivities = 2
	run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: temporal.WorkflowID(id), TaskQueue: temporal.DefaultTaskQueue}, temporal.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := temporal.Wait(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if out.Error != "" || fmt.Sprint(out.Result.Outputs["n"]) != "5" {
		t.Fatalf("run: %s, outputs %v", out.Error, out.Result.Outputs)
	}
	history := func(wid string) *historypb.History {
		h, err := History(ctx, cl, wid)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	parent := history(temporal.WorkflowID(id))
	children := 0
	for _, ev := range parent.Events {
		if ev.GetEventType() == enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED {
			children++
		}
	}
	if children != 3 {
		t.Errorf("%d child workflows, want 3", children)
	}
	r := sdkworker.NewWorkflowReplayer()
	temporal.RegisterWorkflows(r)
	if err := r.ReplayWorkflowHistory(nil, parent); err != nil {
		t.Fatalf("replaying the run's history: %v", err)
	}
	if err := r.ReplayWorkflowHistory(nil, history(temporal.WorkflowID(id)+"-vec-0")); err != nil {
		t.Fatalf("replaying a child's history: %v", err)
	}
	if *update {
		b, err := protojson.MarshalOptions{Multiline: true}.Marshal(parent)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(childrenHistory, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
