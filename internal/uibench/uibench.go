// Package uibench builds the state the run viewer's speed target is measured on: many
// runs, and one run whose fan-out step has many items. The webui benchmarks and
// `go run ./bench ui` share it, so both time the same thing.
package uibench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aiflow/aiflow/engine/store"
)

// Flow is the flow file the runs name: a fan-out between two steps.
const Flow = `aiflow: 1
name: viewer-bench
steps:
  pick:
    uses: transform
    with:
      expr: ${ [1, 2, 3] }
  each:
    uses: transform
    for_each: ${ steps.pick.output.value }
    with:
      expr: ${ each.value * 2 }
  report:
    uses: transform
    needs: [each]
    with:
      expr: ${ "done" }
`

// State is what Build made.
type State struct {
	Dir    string // the state directory
	BigRun string // the run with the many-item step
	Runs   int
	Items  int
}

// Build writes Flow into root and a state beside it (root/.aiflow) with runs runs of
// it, the newest of which fans out over items items (with usage, models and a few
// retries); the others are small.
func Build(root string, runs, items int) (State, error) {
	flowPath := filepath.Join(root, "flow.yaml")
	if err := os.WriteFile(flowPath, []byte(Flow), 0o644); err != nil {
		return State{}, err
	}
	dir := filepath.Join(root, store.DirName)
	st, err := store.Open(dir)
	if err != nil {
		return State{}, err
	}
	defer st.Close()
	ctx := context.Background()
	sum := sha256.Sum256([]byte(Flow))
	hash := hex.EncodeToString(sum[:])
	t0 := time.Now().Add(-time.Duration(runs+1) * time.Minute)
	var big string
	for i := range runs {
		id := fmt.Sprintf("r-bench-%05d", i)
		start := t0.Add(time.Duration(i) * time.Minute)
		if err := st.CreateRun(ctx, store.Run{ID: id, Flow: flowPath, FlowName: "viewer-bench", FlowHash: hash, StartedAt: start}); err != nil {
			return State{}, err
		}
		n := 3
		if i == runs-1 {
			n, big = items, id
		}
		if err := writeRun(ctx, st, id, start, n); err != nil {
			return State{}, err
		}
		status := store.RunSucceeded
		if i%10 == 3 {
			status = store.RunFailed
		}
		if err := st.FinishRun(ctx, id, status, map[string]any{"report": "done"}, "", store.Usage{USD: 0.001 * float64(n), InputTokens: 10 * n, OutputTokens: 5 * n}); err != nil {
			return State{}, err
		}
	}
	return State{Dir: dir, BigRun: big, Runs: runs, Items: items}, nil
}

func writeRun(ctx context.Context, st *store.Store, id string, t time.Time, items int) error {
	recs := []store.StepRecord{{RunID: id, StepID: "pick", Item: store.WholeStep, Status: store.StepSucceeded,
		Output: json.RawMessage(`{"value":"range"}`), StartedAt: t, FinishedAt: t.Add(time.Millisecond), Attempts: 1}}
	for i := range items {
		recs = append(recs, store.StepRecord{RunID: id, StepID: "each", Item: i, Status: store.StepSucceeded,
			Output: json.RawMessage(fmt.Sprintf(`{"value":%d,"text":"answer number %d, long enough to be stored as a blob row"}`, 2*i, i)),
			Model:  "workers-ai:@cf/meta/llama-3.1-8b-instruct", Provider: "workers-ai", Attempts: 1 + i%50/49,
			StartedAt: t.Add(time.Duration(i) * time.Millisecond), FinishedAt: t.Add(time.Duration(i+40) * time.Millisecond),
			Usage: store.Usage{USD: 0.001, InputTokens: 10, OutputTokens: 5, Requests: 1}})
		if len(recs) >= 2000 {
			if err := st.PutSteps(ctx, recs...); err != nil {
				return err
			}
			recs = recs[:0]
		}
	}
	end := t.Add(time.Duration(items+40) * time.Millisecond)
	recs = append(recs,
		store.StepRecord{RunID: id, StepID: "each", Item: store.WholeStep, Status: store.StepSucceeded, StartedAt: t, FinishedAt: end},
		store.StepRecord{RunID: id, StepID: "report", Item: store.WholeStep, Status: store.StepSucceeded, Output: json.RawMessage(`{"value":"done"}`),
			StartedAt: end, FinishedAt: end.Add(time.Millisecond)})
	if err := st.PutSteps(ctx, recs...); err != nil {
		return err
	}
	var evs []store.RunEvent
	for i := 0; i < items; i += 50 {
		evs = append(evs, store.RunEvent{Kind: store.EventRetry, StepID: "each", Item: i + 49, Attempt: 1, At: t.Add(time.Duration(i+50) * time.Millisecond),
			Wait: 10 * time.Millisecond, Class: "rate_limit", Error: "HTTP 429"})
	}
	if len(evs) == 0 {
		return nil
	}
	return st.RecordProgress(ctx, store.Progress{RunID: id, Events: evs})
}

// ListRequests are what the page fetches to show the runs list: itself, its script
// and style, and the first page of runs.
func ListRequests() []string {
	return []string{"/", "/assets/app.js", "/assets/app.css", "/api/runs?limit=100&offset=0"}
}

// RunRequests are what the page fetches to show run id with step selected (when
// not ""): the run with its DAG and costs, the timeline, and the step's detail.
func RunRequests(id, step string) []string {
	reqs := []string{"/api/runs/" + id, "/api/runs/" + id + "/timeline"}
	if step != "" {
		reqs = append(reqs, "/api/runs/"+id+"/steps/"+step)
	}
	return reqs
}
