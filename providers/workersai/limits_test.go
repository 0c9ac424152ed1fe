package workersai_test

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/internal/providertest"
	"github.com/aiflow/aiflow/providers/transport"
	"github.com/aiflow/aiflow/providers/workersai"
)

// floodProvider is a provider whose API is f, with one attempt per call.
func floodProvider(t *testing.T, f *providertest.Flood, extra map[string]any) providers.Generator {
	t.Helper()
	settings := providertest.Settings(map[string]any{"account_id": "acct", "api_token": "tok", "base_url": f.URL(), "rate_limit": "off"}, extra)
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
	providertest.StreamLimits(t, llama, floodProvider, []providertest.StreamLimit{
		{Name: "endless events without text hit the body cap",
			Flood:    &providertest.Flood{Chunk: `data: {"response":"","p":"` + pad + "\"}\n\n", Total: 3 * transport.DefaultMaxBody, Tail: "data: [DONE]\n\n"},
			WantCode: "response_too_large", WantMsg: "response body is larger than the 64 MiB cap",
			MaxWritten: transport.DefaultMaxBody + 16<<20, AnyModel: true},
		{Name: "openai-style chunks without text hit the body cap",
			Flood:    &providertest.Flood{Chunk: `data: {"choices":[{"delta":{"content":""}}],"p":"` + pad + "\"}\n\n", Total: 3 * transport.DefaultMaxBody, Tail: "data: [DONE]\n\n"},
			WantCode: "response_too_large", WantMsg: "response body is larger than the 64 MiB cap",
			MaxWritten: transport.DefaultMaxBody + 16<<20, AnyModel: true},
		{Name: "text far beyond max_tokens is cut",
			Flood:    &providertest.Flood{Chunk: "data: {\"response\":\"word \"}\n\n", Total: 3 * transport.DefaultMaxBody, Tail: "data: [DONE]\n\n"},
			Params:   map[string]any{"max_tokens": 100},
			WantCode: "output_over_max_tokens", WantMsg: "stream carried more than 64 KiB of output, far beyond max_tokens 100",
			MaxWritten: 16 << 20},
	})
}

// TestTimeoutSettings checks the provider entry's timeouts reach every attempt.
func TestTimeoutSettings(t *testing.T) {
	providertest.TimeoutSettings(t, llama, floodProvider,
		"data: {\"response\":\"hi\"}\n\n",
		"stream ended before [DONE] after 1 text deltas: no data for 20ms while reading the response (timeouts.idle)")
}
