package anthropic_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/anthropic"
	"github.com/aiflow/aiflow/providers/internal/providertest"
	"github.com/aiflow/aiflow/providers/transport"
)

// floodProvider is a provider whose API is f, with one attempt per call.
func floodProvider(t *testing.T, f *providertest.Flood, extra map[string]any) *anthropic.Provider {
	t.Helper()
	settings := providertest.Settings(map[string]any{"api_key": "k", "base_url": f.URL()}, extra)
	p, err := anthropic.New(providers.Config{Name: "claude", Kind: anthropic.Kind, Settings: settings, Retry: providers.RetryPolicy{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.(*anthropic.Provider)
}

const (
	messageStart = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n"
	textStart    = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	toolStart    = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}\n\n"
	messageStop  = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
)

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
		{name: "endless pings hit the body cap",
			flood:    &providertest.Flood{Head: messageStart + textStart, Chunk: "event: ping\ndata: {\"type\":\"ping\",\"p\":\"" + pad + "\"}\n\n", Total: 3 * transport.DefaultMaxBody, Tail: messageStop},
			wantCode: "response_too_large", wantMsg: "response body is larger than the 64 MiB cap",
			maxWritten: transport.DefaultMaxBody + 16<<20},
		{name: "text far beyond max_tokens is cut",
			flood: &providertest.Flood{Head: messageStart + textStart,
				Chunk: "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"word \"}}\n\n",
				Total: 3 * transport.DefaultMaxBody, Tail: messageStop},
			params:   map[string]any{"max_tokens": 100},
			wantCode: "output_over_max_tokens", wantMsg: "stream carried more than 64 KiB of output, far beyond max_tokens 100",
			maxWritten: 16 << 20},
		{name: "tool input far beyond the default max_tokens is cut",
			flood: &providertest.Flood{Head: messageStart + toolStart,
				Chunk: "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"aaaaaaaa\"}}\n\n",
				Total: 3 * transport.DefaultMaxBody, Tail: messageStop},
			wantCode: "output_over_max_tokens", wantMsg: "far beyond max_tokens 1024",
			maxWritten: 16 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.flood.Start(t)
			p := floodProvider(t, f, nil)
			_, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "claude", Messages: user("go"),
				Params: tt.params, Stream: func(string) {}})
			pe := asProviderError(t, err)
			if pe.Code != tt.wantCode || !strings.Contains(pe.Message, tt.wantMsg) || pe.Retryable || pe.Model != "claude" {
				t.Fatalf("error %v (code %q, retryable %v), want a final %s error for model claude saying %q", pe, pe.Code, pe.Retryable, tt.wantCode, tt.wantMsg)
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
		{name: "stream stalls", flood: &providertest.Flood{Head: messageStart + textStart, Stall: true},
			timeouts: map[string]any{"idle": "20ms"}, stream: true,
			wantMsg: "no data for 20ms while reading the response (timeouts.idle)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.flood.Start(t)
			p := floodProvider(t, f, map[string]any{"timeouts": tt.timeouts})
			req := providers.GenerateRequest{Model: "claude", Messages: user("go")}
			if tt.stream {
				req.Stream = func(string) {}
			}
			_, err := p.Generate(context.Background(), req)
			if pe := asProviderError(t, err); !strings.Contains(pe.Message, tt.wantMsg) {
				t.Fatalf("error %q, want it to say %q", pe.Message, tt.wantMsg)
			}
		})
	}
}
