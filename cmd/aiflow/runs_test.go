package main

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/rundiff"
)

func TestOrderSteps(t *testing.T) {
	rec := func(step string, item int) store.StepRecord { return store.StepRecord{StepID: step, Item: item} }
	tests := []struct {
		name string
		in   []store.StepRecord // as the store returns them: by start time
		want []string
	}{
		{"concurrent items interleaved with another step",
			[]store.StepRecord{rec("a", -1), rec("a", 3), rec("a", 1), rec("b", -1), rec("b", 3), rec("a", 2), rec("b", 1), rec("a", 0), rec("b", 0), rec("b", 2), rec("c", -1)},
			[]string{"a[-1]", "a[0]", "a[1]", "a[2]", "a[3]", "b[-1]", "b[0]", "b[1]", "b[2]", "b[3]", "c[-1]"}},
		{"item before its whole-step record", []store.StepRecord{rec("a", 1), rec("a", -1), rec("a", 0)}, []string{"a[-1]", "a[0]", "a[1]"}},
		{"plain steps keep their order", []store.StepRecord{rec("z", -1), rec("a", -1)}, []string{"z[-1]", "a[-1]"}},
		{"more than ten items sort as numbers", []store.StepRecord{rec("a", 10), rec("a", 2), rec("a", 1)}, []string{"a[1]", "a[2]", "a[10]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range rundiff.OrderSteps(tt.in) {
				got = append(got, fmt.Sprintf("%s[%d]", r.StepID, r.Item))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("orderSteps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStepScore(t *testing.T) {
	tests := []struct{ name, output, want string }{
		{"classify", `{"label":"POSITIVE","score":0.98123,"scores":[]}`, "POSITIVE 0.981"},
		{"score only", `{"score":0.5}`, "0.500"},
		{"no score", `{"value":3}`, ""},
		{"score not a number", `{"score":"high"}`, ""},
		{"list output", `[{"score":1}]`, ""},
		{"empty", ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stepScore(json.RawMessage(tt.output)); got != tt.want {
				t.Errorf("stepScore(%s) = %q, want %q", tt.output, got, tt.want)
			}
		})
	}
}
