package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aiflow/aiflow/engine/store"
)

// openState opens the state directory the tests' runs wrote, read-only in spirit: the
// tests compare the page with what the store holds.
func openState(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// stepRecords is every record of run: the whole-step ones by step, and the items of
// each for_each step by step, in item order.
type stepRecords struct {
	whole map[string]store.StepRecord
	items map[string][]store.StepRecord
}

func readSteps(t testing.TB, st *store.Store, runID string) stepRecords {
	t.Helper()
	recs, err := st.Steps(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	out := stepRecords{whole: map[string]store.StepRecord{}, items: map[string][]store.StepRecord{}}
	for _, r := range recs {
		if r.Item == store.WholeStep {
			out.whole[r.StepID] = r
		} else {
			out.items[r.StepID] = append(out.items[r.StepID], r)
		}
	}
	for _, items := range out.items {
		slices.SortFunc(items, func(a, b store.StepRecord) int { return a.Item - b.Item })
	}
	return out
}

// graph is `aiflow graph -o json` of a flow: its steps and dependencies, as the CLI
// computes them, independently of the viewer.
type graph struct {
	Nodes []struct {
		ID string `json:"id"`
	} `json:"nodes"`
	Edges []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"edges"`
}

func flowGraph(t testing.TB, flow string) graph {
	t.Helper()
	out, err := exec.Command(aiflowBinary(t), "graph", "-o", "json", flow).Output()
	if err != nil {
		t.Fatalf("aiflow graph %s: %v", flow, err)
	}
	var doc struct {
		Graph graph `json:"graph"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("aiflow graph -o json: %v in %s", err, out)
	}
	return doc.Graph
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// fabricateRuns records n finished runs of a made-up flow straight into the store,
// each with one step record: a long runs list without running anything.
func fabricateRuns(t testing.TB, st *store.Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := make([]string, n)
	flow := filepath.Join(t.TempDir(), "bulk.yaml") // never read: the list needs no flow
	for i := range n {
		id := fmt.Sprintf("r-20260101-%06d-%08x", i, i)
		at := start.Add(time.Duration(i) * time.Minute)
		status, stepStatus := store.RunSucceeded, store.StepSucceeded
		if i%10 == 3 {
			status, stepStatus = store.RunFailed, store.StepFailed
		}
		run := store.Run{ID: id, Flow: flow, FlowName: "bulk", FlowHash: "h", StartedAt: at}
		if err := st.CreateRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		rec := store.StepRecord{RunID: id, StepID: "only", Item: store.WholeStep, Status: stepStatus, Output: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
			StartedAt: at, FinishedAt: at.Add(time.Second), Usage: store.Usage{InputTokens: 10, OutputTokens: 5, USD: 0.0001}}
		if status == store.RunFailed {
			rec.Output, rec.Error = nil, "made up"
		}
		if err := st.PutStep(ctx, rec); err != nil {
			t.Fatal(err)
		}
		errMsg := ""
		if status == store.RunFailed {
			errMsg = "step only failed: made up"
		}
		if err := st.FinishRun(ctx, id, status, nil, errMsg, rec.Usage); err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// stepUsage is what a step cost in a run by the store: its items' usage summed when it
// has items (its whole-step record repeats that sum), else its own record's.
func stepUsage(recs stepRecords, step string) store.Usage {
	items, ok := recs.items[step]
	if !ok {
		return recs.whole[step].Usage
	}
	var u store.Usage
	for _, it := range items {
		u = addUsage(u, it.Usage)
	}
	return u
}

// modelUsage is what each model cost in a run by the store: the usage of the records
// that name it, items in place of their steps' whole records.
func modelUsage(recs stepRecords) map[string]store.Usage {
	out := map[string]store.Usage{}
	add := func(r store.StepRecord) {
		if r.Model != "" {
			out[r.Model] = addUsage(out[r.Model], r.Usage)
		}
	}
	for step, w := range recs.whole {
		if _, ok := recs.items[step]; !ok {
			add(w)
		}
	}
	for _, items := range recs.items {
		for _, it := range items {
			add(it)
		}
	}
	return out
}

func addUsage(a, b store.Usage) store.Usage {
	a.InputTokens += b.InputTokens
	a.OutputTokens += b.OutputTokens
	a.CachedTokens += b.CachedTokens
	a.Neurons += b.Neurons
	a.USD += b.USD
	a.Requests += b.Requests
	return a
}
