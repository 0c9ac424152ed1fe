package rundiff

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aiflow/aiflow/engine/store"
)

func TestStepChange(t *testing.T) {
	t0 := time.Unix(100, 0)
	rec := func(step string, item int, out string, usd float64, took time.Duration) store.StepRecord {
		return store.StepRecord{StepID: step, Item: item, Status: store.StepSucceeded, Output: json.RawMessage(out),
			Usage: store.Usage{USD: usd}, StartedAt: t0, FinishedAt: t0.Add(took)}
	}
	a := []store.StepRecord{rec("same", -1, `1`, 0, time.Second), rec("slower", -1, `1`, 0, time.Second),
		rec("out", -1, `"x"`, 0, 0), rec("gone", -1, `1`, 0, 0), rec("fan", 0, `1`, 0, 0), rec("fan", 1, `2`, 0, 0)}
	b := []store.StepRecord{rec("same", -1, `1`, 0, time.Second), rec("slower", -1, `1`, 0, 3*time.Second),
		rec("out", -1, `"y"`, 0, 0), rec("new", -1, `1`, 0, 0), rec("fan", 0, `1`, 0, 0), rec("fan", 1, `3`, 0, 0)}
	changes := Runs(store.Run{}, store.Run{}, Summarize(a), Summarize(b))
	for step, want := range map[string]string{"same": "same", "slower": "same", "out": "changed", "gone": "removed", "new": "added", "fan": "changed"} {
		if got := StepChange(step, changes); got != want {
			t.Errorf("StepChange(%s) = %s, want %s (changes %+v)", step, got, want, changes)
		}
	}
}

// TestSummarizeCountsForEachUsageOnce: the engine's whole-step record of a for_each step
// repeats the sum of its items' usage, so a summary adding both counted it twice.
func TestSummarizeCountsForEachUsageOnce(t *testing.T) {
	u := func(usd float64, tok int) store.Usage { return store.Usage{USD: usd, InputTokens: tok} }
	recs := []store.StepRecord{
		{StepID: "fan", Item: -1, Status: store.StepSucceeded, Usage: u(0.3, 30)},
		{StepID: "fan", Item: 0, Status: store.StepSucceeded, Usage: u(0.1, 10)},
		{StepID: "fan", Item: 1, Status: store.StepSucceeded, Usage: u(0.2, 20)},
		{StepID: "one", Item: -1, Status: store.StepSucceeded, Usage: u(0.5, 7)},
	}
	for _, s := range Summarize(recs) {
		want := map[string]store.Usage{"fan": u(0.3, 30), "one": u(0.5, 7)}[s.ID]
		if s.USD < want.USD-1e-9 || s.USD > want.USD+1e-9 || s.Tokens != want.InputTokens {
			t.Errorf("%s: $%v, %d tokens; want $%v, %d", s.ID, s.USD, s.Tokens, want.USD, want.InputTokens)
		}
	}
}
