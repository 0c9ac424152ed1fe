package webui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/uibench"
	_ "github.com/aiflow/aiflow/steps/all" // the flow's step kinds, to compile its DAG
)

// pngBytes is a 1x1 PNG: enough for the blob store to sniff image/png.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

type fixture struct {
	dir     string // the state directory
	st      *store.Store
	run     string // a finished run: pick, each (items items), report
	other   string // the same flow, report changed, each with one item fewer
	live    string // a running run
	items   int
	png     blob.Blob
	t0      time.Time
	flowSrc string
}

// newFixture writes the flow file and a state with three runs of it. items sets the
// size of the fan-out of the main run.
func newFixture(tb testing.TB, items int) *fixture {
	tb.Helper()
	root := tb.TempDir()
	flowPath := filepath.Join(root, "flow.yaml")
	if err := os.WriteFile(flowPath, []byte(uibench.Flow), 0o644); err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(root, ".aiflow")
	st, err := store.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	png, err := blob.NewStore(engine.BlobDir(dir)).PutBytes(pngBytes, "dot.png", "")
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256([]byte(uibench.Flow))
	f := &fixture{dir: dir, st: st, run: "r-1", other: "r-2", live: "r-3", items: items, png: png,
		t0: time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond), flowSrc: flowPath}
	ctx := context.Background()
	for i, id := range []string{f.run, f.other, f.live} {
		status := store.RunSucceeded
		if id == f.live {
			status = store.RunRunning
		}
		err := st.CreateRun(ctx, store.Run{ID: id, Flow: flowPath, FlowName: "viewer-fixture", FlowHash: hex.EncodeToString(sum[:]),
			Status: status, StartedAt: f.t0.Add(time.Duration(i) * time.Minute), TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"})
		if err != nil {
			tb.Fatal(err)
		}
	}
	f.writeRun(tb, f.run, items, `"done"`)
	f.writeRun(tb, f.other, items-1, `"changed"`)
	if err := st.PutStep(ctx, store.StepRecord{RunID: f.live, StepID: "pick", Item: store.WholeStep, Status: store.StepRunning, StartedAt: f.t0.Add(2 * time.Minute)}); err != nil {
		tb.Fatal(err)
	}
	return f
}

func (f *fixture) writeRun(tb testing.TB, id string, items int, report string) {
	tb.Helper()
	ctx := context.Background()
	run, err := f.st.GetRun(ctx, id)
	if err != nil {
		tb.Fatal(err)
	}
	t := run.StartedAt
	out, _ := json.Marshal(map[string]any{"value": []int{1, 2, 3}, "image": f.png.Value()})
	recs := []store.StepRecord{{RunID: id, StepID: "pick", Item: store.WholeStep, Status: store.StepSucceeded, Output: out,
		Model: "wai:@cf/meta/llama", Attempts: 1, StartedAt: t, FinishedAt: t.Add(100 * time.Millisecond),
		Usage: store.Usage{USD: 0.25, InputTokens: 100, OutputTokens: 10, Requests: 1}}}
	list := make([]json.RawMessage, items)
	for i := range items {
		o := json.RawMessage(fmt.Sprintf(`{"value":%d}`, i*2))
		list[i] = o
		status := store.StepSucceeded
		if i == 1 {
			status = store.StepFailed
		}
		recs = append(recs, store.StepRecord{RunID: id, StepID: "each", Item: i, Status: status, Output: o, Model: "oai:gpt-4o-mini",
			Attempts: 1 + i%2, StartedAt: t.Add(100*time.Millisecond + time.Duration(i)*time.Millisecond), FinishedAt: t.Add(time.Second + time.Duration(i)*time.Millisecond),
			Usage: store.Usage{USD: 0.001, InputTokens: 10, OutputTokens: 5, Requests: 1}})
	}
	all, _ := json.Marshal(list)
	recs = append(recs,
		store.StepRecord{RunID: id, StepID: "each", Item: store.WholeStep, Status: store.StepSucceeded, Output: all,
			StartedAt: t.Add(100 * time.Millisecond), FinishedAt: t.Add(2 * time.Second)},
		store.StepRecord{RunID: id, StepID: "report", Item: store.WholeStep, Status: store.StepSucceeded, Output: json.RawMessage(`{"value":` + report + `}`),
			StartedAt: t.Add(2 * time.Second), FinishedAt: t.Add(3 * time.Second)})
	for len(recs) > 0 {
		n := min(len(recs), 2000)
		if err := f.st.PutSteps(ctx, recs[:n]...); err != nil {
			tb.Fatal(err)
		}
		recs = recs[n:]
	}
	err = f.st.RecordProgress(ctx, store.Progress{RunID: id, Events: []store.RunEvent{
		{Kind: store.EventRetry, StepID: "each", Item: 1, Attempt: 1, At: t.Add(300 * time.Millisecond), Wait: 200 * time.Millisecond, Class: "rate_limit", Error: "HTTP 429"},
		{Kind: store.EventRateWait, StepID: "each", Item: 3, At: t.Add(120 * time.Millisecond), Wait: 50 * time.Millisecond}}})
	if err != nil {
		tb.Fatal(err)
	}
	for i, turn := range []store.Turn{{Role: "user", Content: "find it"}, {Role: "assistant", ToolName: "search", ToolCallID: "c1", Arguments: json.RawMessage(`{"q":"x"}`)},
		{Role: "tool", ToolName: "search", ToolCallID: "c1", Content: "found"}, {Role: "assistant", Content: "here"}} {
		turn.RunID, turn.StepID, turn.Item, turn.Index, turn.At = id, "report", store.WholeStep, i, t.Add(2*time.Second)
		if err := f.st.AppendTurn(ctx, turn); err != nil {
			tb.Fatal(err)
		}
	}
	if err := f.st.FinishRun(ctx, id, store.RunSucceeded, map[string]any{"report": report}, "", store.Usage{USD: 0.25 + 0.001*float64(items)}); err != nil {
		tb.Fatal(err)
	}
}

func osRemove(p string) error { return os.Remove(p) }

// tempDir is a directory for the benchmarks' shared state, removed with the process's
// other temporary files by the OS (testing.B's TempDir would go with the first benchmark).
func tempDir() (string, error) { return os.MkdirTemp("", "aiflow-uibench-") }
