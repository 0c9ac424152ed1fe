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
