package providertest

import (
	"context"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
)

// FloodOpener opens the provider under test against f with one attempt per call,
// extra overlaid on its settings. The stream-limit and timeout checks take one so that
// each provider says only how it is built and what its wire looks like.
type FloodOpener func(t *testing.T, f *Flood, extra map[string]any) providers.Generator

// StreamLimit is one stream far larger than any answer: it must fail with a final
// WantCode error whose message holds WantMsg, after the server wrote at most MaxWritten
// bytes. The error names the model asked for unless AnyModel.
type StreamLimit struct {
	Name       string
	Flood      *Flood
	Params     map[string]any
	WantCode   string
	WantMsg    string
	MaxWritten int64
	// AnyModel lets the error leave the model out (workers-ai's body-cap error does).
	AnyModel bool
}

// StreamLimits streams each case to a provider from open asking for model, and checks
// the error (final, naming the limit and model), how much the server wrote before the
// client stopped reading, and that the heap stayed well under the 64 MiB body cap.
func StreamLimits(t *testing.T, model string, open FloodOpener, cases []StreamLimit) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			f := tt.Flood.Start(t)
			p := open(t, f, nil)
			_, err := p.Generate(context.Background(), providers.GenerateRequest{Model: model, Messages: User("go"),
				Params: tt.Params, Stream: func(string) {}})
			pe := AsProviderError(t, err)
			if pe.Code != tt.WantCode || !strings.Contains(pe.Message, tt.WantMsg) || pe.Retryable || (pe.Model != model && !tt.AnyModel) {
				t.Fatalf("error %v (code %q, retryable %v), want a final %s error for model %s saying %q", pe, pe.Code, pe.Retryable, tt.WantCode, model, tt.WantMsg)
			}
			if w := f.Written(); w > tt.MaxWritten {
				t.Errorf("server wrote %d MiB before the client stopped reading, want at most %d MiB", w>>20, tt.MaxWritten>>20)
			}
			if peak := f.PeakHeap(); peak > 48<<20 {
				t.Errorf("heap reached %d MiB while streaming, want well under the 64 MiB cap", peak>>20)
			}
		})
	}
}

// TimeoutSettings checks that the provider entry's timeouts reach every attempt: a
// server that never answers trips timeouts.header, streamed or not, and one that sends
// stallHead and then nothing trips timeouts.idle with an error holding stallMsg.
func TimeoutSettings(t *testing.T, model string, open FloodOpener, stallHead, stallMsg string) {
	t.Helper()
	tests := []struct {
		name     string
		flood    *Flood
		timeouts map[string]any
		stream   bool
		wantMsg  string
	}{
		{name: "server never answers", flood: &Flood{Silent: true}, timeouts: map[string]any{"header": "20ms"},
			wantMsg: "no response headers within 20ms (timeouts.header)"},
		{name: "streamed, server never answers", flood: &Flood{Silent: true}, timeouts: map[string]any{"header": "20ms"},
			stream: true, wantMsg: "no response headers within 20ms (timeouts.header)"},
		{name: "stream stalls", flood: &Flood{Head: stallHead, Stall: true},
			timeouts: map[string]any{"idle": "20ms"}, stream: true, wantMsg: stallMsg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.flood.Start(t)
			p := open(t, f, map[string]any{"timeouts": tt.timeouts})
			req := providers.GenerateRequest{Model: model, Messages: User("go")}
			if tt.stream {
				req.Stream = func(string) {}
			}
			_, err := p.Generate(context.Background(), req)
			if pe := AsProviderError(t, err); !strings.Contains(pe.Message, tt.wantMsg) {
				t.Fatalf("error %q, want it to say %q", pe.Message, tt.wantMsg)
			}
		})
	}
}
