package classify

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

func TestRun(t *testing.T) {
	var got providers.ClassifyRequest
	answer := func(scores ...providers.LabelScore) steptest.Classifier {
		return steptest.Classifier{Fn: func(_ context.Context, req providers.ClassifyRequest) (providers.ClassifyResponse, error) {
			got = req
			return providers.ClassifyResponse{Scores: scores}, nil
		}}
	}
	tests := []struct {
		name       string
		prov       providers.Provider
		inputs     map[string]any
		want       map[string]any
		wantLabels []string
		wantErr    string
	}{
		{
			name:   "sentiment, unsorted answer",
			prov:   answer(providers.LabelScore{Label: "NEGATIVE", Score: 0.1}, providers.LabelScore{Label: "POSITIVE", Score: 0.9}),
			inputs: map[string]any{"text": "great"},
			want: map[string]any{"label": "POSITIVE", "score": 0.9, "scores": []any{
				map[string]any{"label": "POSITIVE", "score": 0.9}, map[string]any{"label": "NEGATIVE", "score": 0.1}}},
		},
		{
			name:       "given labels",
			prov:       answer(providers.LabelScore{Label: "billing", Score: 0.7}, providers.LabelScore{Label: "bug", Score: 0.3}),
			inputs:     map[string]any{"text": "refund me", "labels": []string{"bug", "billing"}},
			wantLabels: []string{"bug", "billing"},
			want: map[string]any{"label": "billing", "score": 0.7, "scores": []any{
				map[string]any{"label": "billing", "score": 0.7}, map[string]any{"label": "bug", "score": 0.3}}},
		},
		{name: "empty label list", prov: answer(), inputs: map[string]any{"text": "x", "labels": []string{}}, wantErr: "labels: the list is empty; leave labels out to use the model's own labels"},
		{name: "duplicate label", prov: answer(), inputs: map[string]any{"text": "x", "labels": []string{"a", "a"}}, wantErr: `labels: "a" appears twice`},
		{name: "no scores", prov: answer(), inputs: map[string]any{"text": "x"}, wantErr: "classifying with test:sst2: the model returned no labels"},
		{name: "lacks capability", prov: steptest.Bare{}, inputs: map[string]any{"text": "x"}, wantErr: "model test:sst2 (provider kind bare) does not serve classify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = providers.ClassifyRequest{}
			call := &steps.Call{StepID: "c", Item: -1, Inputs: tt.inputs, Model: steptest.Model(tt.prov, "sst2"), Env: &steptest.Env{}}
			res, err := classifier{}.Run(context.Background(), call)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, res.Output); d != "" {
				t.Errorf("output (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantLabels, got.Labels); d != "" || got.Model != "sst2" || got.Text != tt.inputs["text"] {
				t.Errorf("request = %+v, labels diff %s", got, d)
			}
		})
	}
}
