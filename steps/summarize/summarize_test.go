package summarize

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

func TestRun(t *testing.T) {
	var got providers.SummarizeRequest
	ok := steptest.Summarizer{Fn: func(_ context.Context, req providers.SummarizeRequest) (providers.SummarizeResponse, error) {
		got = req
		return providers.SummarizeResponse{Text: "short", Usage: providers.Usage{InputTokens: 9}, Meta: providers.Meta{"cf-aig-cache-status": "HIT"}}, nil
	}}
	failing := steptest.Summarizer{Fn: func(context.Context, providers.SummarizeRequest) (providers.SummarizeResponse, error) {
		return providers.SummarizeResponse{}, &providers.Error{Provider: "fake", Status: 503, Retryable: true, Message: "busy"}
	}}
	tests := []struct {
		name    string
		prov    providers.Provider
		inputs  map[string]any
		want    steps.Result
		wantReq providers.SummarizeRequest
		wantErr string
		typed   bool // the error must unwrap to *providers.Error
	}{
		{
			name:    "summary with focus",
			prov:    ok,
			inputs:  map[string]any{"text": "long text", "max_length": 3, "focus": "why"},
			want:    steps.Result{Output: map[string]any{"text": "short"}, Usage: providers.Usage{InputTokens: 9}, Meta: providers.Meta{"cf-aig-cache-status": "HIT"}, ModelRef: "test:bart"},
			wantReq: providers.SummarizeRequest{Model: "bart", Text: "long text", MaxLength: 3, Focus: "why"},
		},
		{name: "negative length", prov: ok, inputs: map[string]any{"text": "x", "max_length": -1}, wantErr: "max_length must be positive, got -1"},
		{name: "lacks capability", prov: steptest.Bare{}, inputs: map[string]any{"text": "x"}, wantErr: "model test:bart (provider kind bare) does not serve summarize"},
		{name: "provider error", prov: failing, inputs: map[string]any{"text": "x"}, wantErr: "summarizing with test:bart: fake: HTTP 503: busy", typed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = providers.SummarizeRequest{}
			call := &steps.Call{StepID: "s", Item: -1, Inputs: tt.inputs, Model: steptest.Model(tt.prov, "bart"), Env: &steptest.Env{}}
			res, err := summarizer{}.Run(context.Background(), call)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				var pe *providers.Error
				if tt.typed && !errors.As(err, &pe) {
					t.Errorf("provider error is not unwrappable: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, res); d != "" {
				t.Errorf("result (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantReq, got); d != "" {
				t.Errorf("request (-want +got):\n%s", d)
			}
		})
	}
}
