package workersai_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/internal/providertest"
	"github.com/aiflow/aiflow/providers/transport"
	"github.com/aiflow/aiflow/providers/workersai"
)

// floodProvider is a provider whose API is f, with one attempt per call.
func floodProvider(t *testing.T, f *providertest.Flood, extra map[string]any) *workersai.Provider {
	t.Helper()
	settings := map[string]any{"account_id": "acct", "api_token": "tok", "base_url": f.URL(), "rate_limit": "off"}
	for k, v := range extra {
		settings[k] = v
	}
	p, err := workersai.Open(providers.Config{Name: "cf", Kind: workersai.Kind, Settings: settings,
		Retry: providers.RetryPolicy{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestStreamLimits feeds streams far larger than any answer: they must fail with an
// error naming the limit, having read little more than the limit, in bounded memory.
func TestStreamLimits(t *testing.T) {
	pad := strings.Repeat("x", 1000)
	tests := []struct {
		name       string
		flood      *providertest.Flood
		params     map[string]any
		wantCode   string
		wantMsg    string
		maxWritten int64
	}{
		{name: "endless events without text hit the body cap",
			flood:    &providertest.Flood{Chunk: `data: {"response":"","p":"` + pad + "\"}\n\n", Total: 3 * transport.DefaultMaxBody, Tail: "data: [DONE]\n\n"},
			wantCode: "response_too_large", wantMsg: "response body is larger than the 64 MiB cap",
			maxWritten: transport.DefaultMaxBody + 16<<20},
		{name: "openai-style chunks without text hit the body cap",
			flood:    &providertest.Flood{Chunk: `data: {"choices":[{"delta":{"content":""}}],"p":"` + pad + "\"}\n\n", Total: 3 * transport.DefaultMaxBody, Tail: "data: [DONE]\n\n"},
			wantCode: "response_too_large", wantMsg: "response body is larger than the 64 MiB cap",
			maxWritten: transport.DefaultMaxBody + 16<<20},
		{name: "text far beyond max_tokens is cut",
			flood:    &providertest.Flood{Chunk: "data: {\"response\":\"word \"}\n\n", Total: 3 * transport.DefaultMaxBody, Tail: "data: [DONE]\n\n"},
			params:   map[string]any{"max_tokens": 100},
			wantCode: "output_over_max_tokens", wantMsg: "stream carried more than 64 KiB of output, far beyond max_tokens 100",
			maxWritten: 16 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.flood.Start(t)
			p := floodProvider(t, f, nil)
			deltas := 0
			_, err := p.Generate(context.Background(), providers.GenerateRequest{Model: llama, Messages: user("go"),
				Params: tt.params, Stream: func(string) { deltas++ }})
			pe := providerError(t, err)
			if pe.Code != tt.wantCode || !strings.Contains(pe.Message, tt.wantMsg) || pe.Retryable {
				t.Fatalf("error %v (code %q, retryable %v), want a final %s error saying %q", pe, pe.Code, pe.Retryable, tt.wantCode, tt.wantMsg)
			}
			if w := f.Written(); w > tt.maxWritten {
				t.Errorf("server wrote %d MiB before the client stopped reading, want at most %d MiB", w>>20, tt.maxWritten>>20)
			}
			if peak := f.PeakHeap(); peak > 48<<20 {
				t.Errorf("heap reached %d MiB while streaming, want well under the 64 MiB cap", peak>>20)
			}
		})
	}
}

// TestTimeoutSettings checks the provider entry's timeouts reach every attempt.
func TestTimeoutSettings(t *testing.T) {
	tests := []struct {
		name     string
		flood    *providertest.Flood
		timeouts map[string]any
		stream   bool
		wantMsg  string
	}{
		{name: "server never answers", flood: &providertest.Flood{Silent: true}, timeouts: map[string]any{"header": "20ms"},
			wantMsg: "no response headers within 20ms (timeouts.header)"},
		{name: "streamed, server never answers", flood: &providertest.Flood{Silent: true}, timeouts: map[string]any{"header": "20ms"},
			stream: true, wantMsg: "no response headers within 20ms (timeouts.header)"},
		{name: "stream stalls", flood: &providertest.Flood{Head: "data: {\"response\":\"hi\"}\n\n", Stall: true},
			timeouts: map[string]any{"idle": "20ms"}, stream: true,
			wantMsg: "stream ended before [DONE] after 1 text deltas: no data for 20ms while reading the response (timeouts.idle)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.flood.Start(t)
			p := floodProvider(t, f, map[string]any{"timeouts": tt.timeouts})
			req := providers.GenerateRequest{Model: llama, Messages: user("go")}
			if tt.stream {
				req.Stream = func(string) {}
			}
			_, err := p.Generate(context.Background(), req)
			if pe := providerError(t, err); !strings.Contains(pe.Message, tt.wantMsg) {
				t.Fatalf("error %q, want it to say %q", pe.Message, tt.wantMsg)
			}
		})
	}
}
