package anthropic_test

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/anthropic"
	"github.com/aiflow/aiflow/providers/internal/providertest"
	"github.com/aiflow/aiflow/providers/transport"
)

// floodProvider is a provider whose API is f, with one attempt per call.
func floodProvider(t *testing.T, f *providertest.Flood, extra map[string]any) providers.Generator {
	t.Helper()
	settings := providertest.Settings(map[string]any{"api_key": "k", "base_url": f.URL()}, extra)
	p, err := anthropic.New(providers.Config{Name: "claude", Kind: anthropic.Kind, Settings: settings, Retry: providers.RetryPolicy{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.(providers.Generator)
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
	providertest.StreamLimits(t, "claude", floodProvider, []providertest.StreamLimit{
		{Name: "endless pings hit the body cap",
			Flood:    &providertest.Flood{Head: messageStart + textStart, Chunk: "event: ping\ndata: {\"type\":\"ping\",\"p\":\"" + pad + "\"}\n\n", Total: 3 * transport.DefaultMaxBody, Tail: messageStop},
			WantCode: "response_too_large", WantMsg: "response body is larger than the 64 MiB cap",
			MaxWritten: transport.DefaultMaxBody + 16<<20},
		{Name: "text far beyond max_tokens is cut",
			Flood: &providertest.Flood{Head: messageStart + textStart,
				Chunk: "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"word \"}}\n\n",
				Total: 3 * transport.DefaultMaxBody, Tail: messageStop},
			Params:   map[string]any{"max_tokens": 100},
			WantCode: "output_over_max_tokens", WantMsg: "stream carried more than 64 KiB of output, far beyond max_tokens 100",
			MaxWritten: 16 << 20},
		{Name: "tool input far beyond the default max_tokens is cut",
			Flood: &providertest.Flood{Head: messageStart + toolStart,
				Chunk: "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"aaaaaaaa\"}}\n\n",
				Total: 3 * transport.DefaultMaxBody, Tail: messageStop},
			WantCode: "output_over_max_tokens", WantMsg: "far beyond max_tokens 1024",
			MaxWritten: 16 << 20},
	})
}

// TestTimeoutSettings checks the provider entry's timeouts reach every attempt.
func TestTimeoutSettings(t *testing.T) {
	providertest.TimeoutSettings(t, "claude", floodProvider,
		messageStart+textStart,
		"no data for 20ms while reading the response (timeouts.idle)")
}
