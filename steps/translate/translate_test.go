package translate

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
	var got providers.TranslateRequest
	ok := steptest.Translator{Fn: func(_ context.Context, req providers.TranslateRequest) (providers.TranslateResponse, error) {
		got = req
		return providers.TranslateResponse{Text: "hola", Usage: providers.Usage{Requests: 1}}, nil
	}}
	failing := steptest.Translator{Fn: func(context.Context, providers.TranslateRequest) (providers.TranslateResponse, error) {
		return providers.TranslateResponse{}, &providers.Error{Provider: "fake", Status: 400, Message: "unsupported pair"}
	}}
	tests := []struct {
		name    string
		prov    providers.Provider
		inputs  map[string]any
		want    map[string]any
		wantReq providers.TranslateRequest
		wantErr string
		typed   bool // the error must unwrap to *providers.Error
	}{
		{
			name:    "en to es",
			prov:    ok,
			inputs:  map[string]any{"text": "hello", "from": "en", "to": "es"},
			want:    map[string]any{"text": "hola", "from": "en", "to": "es"},
			wantReq: providers.TranslateRequest{Model: "m2m", Text: "hello", From: "en", To: "es"},
		},
		{
			name:    "regional code",
			prov:    ok,
			inputs:  map[string]any{"text": "hello", "from": "en", "to": "pt-BR"},
			want:    map[string]any{"text": "hola", "from": "en", "to": "pt-BR"},
			wantReq: providers.TranslateRequest{Model: "m2m", Text: "hello", From: "en", To: "pt-BR"},
		},
		{name: "language name", prov: ok, inputs: map[string]any{"text": "x", "from": "en", "to": "Spanish"}, wantErr: `to: "Spanish" is not a language code; write an ISO 639-1 code such as en, es or fr`},
		{name: "empty source", prov: ok, inputs: map[string]any{"text": "x", "from": "", "to": "es"}, wantErr: `from: "" is not a language code; write an ISO 639-1 code such as en, es or fr`},
		{name: "lacks capability", prov: steptest.Bare{}, inputs: map[string]any{"text": "x", "from": "en", "to": "es"}, wantErr: "model test:m2m (provider kind bare) does not serve translate"},
		{name: "provider error", prov: failing, inputs: map[string]any{"text": "x", "from": "en", "to": "es"}, wantErr: "translating en→es with test:m2m: fake: HTTP 400: unsupported pair", typed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = providers.TranslateRequest{}
			call := &steps.Call{StepID: "t", Item: -1, Inputs: tt.inputs, Model: steptest.Model(tt.prov, "m2m"), Env: &steptest.Env{}}
			res, err := translator{}.Run(context.Background(), call)
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
			if d := cmp.Diff(tt.want, res.Output); d != "" {
				t.Errorf("output (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantReq, got); d != "" {
				t.Errorf("request (-want +got):\n%s", d)
			}
			if res.ModelRef != "test:m2m" || res.Usage.Requests != 1 {
				t.Errorf("result model/usage = %q, %+v", res.ModelRef, res.Usage)
			}
		})
	}
}

func TestDefaultSource(t *testing.T) {
	f, ok := Kind.Input("from")
	if !ok || f.Default != "en" {
		t.Fatalf("from default = %v, want en", f.Default)
	}
}
