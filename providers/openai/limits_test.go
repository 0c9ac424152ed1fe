package openai_test

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/internal/providertest"
	"github.com/aiflow/aiflow/providers/openai"
	"github.com/aiflow/aiflow/providers/transport"
)

// floodProvider is a provider whose API is f, with one attempt per call.
func floodProvider(t *testing.T, f *providertest.Flood, extra map[string]any) providers.Generator {
	t.Helper()
	settings := providertest.Settings(map[string]any{"api_key": "k", "base_url": f.URL() + "/v1"}, extra)
	p, err := openai.New(providers.Config{Name: "oa", Kind: openai.Kind, Settings: settings, Retry: providers.RetryPolicy{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.(providers.Generator)
}

const chunkHead = `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":`

// TestStreamLimits feeds streams far larger than any answer: they must fail with an
// error naming the limit, having read little more than the limit, in bounded memory.
func TestStreamLimits(t *testing.T) {
	pad := strings.Repeat("x", 1000)
	providertest.StreamLimits(t, "m", floodProvider, []providertest.StreamLimit{
		{Name: "endless chunks with little text hit the body cap",
			Flood:    &providertest.Flood{Chunk: chunkHead + `{"content":"a"}}],"p":"` + pad + "\"}\n\n", Total: 3 * transport.DefaultMaxBody, Tail: "data: [DONE]\n\n"},
			WantCode: "response_too_large", WantMsg: "response body is larger than the 64 MiB cap",
			MaxWritten: transport.DefaultMaxBody + 16<<20},
		{Name: "text far beyond max_tokens is cut",
			Flood:    &providertest.Flood{Chunk: chunkHead + `{"content":"word "}}]}` + "\n\n", Total: 3 * transport.DefaultMaxBody, Tail: "data: [DONE]\n\n"},
			Params:   map[string]any{"max_tokens": 100},
			WantCode: "output_over_max_tokens", WantMsg: "stream carried more than 64 KiB of output, far beyond max_tokens 100",
			MaxWritten: 16 << 20},
		{Name: "text without max_tokens is cut beyond any answer",
			Flood:    &providertest.Flood{Chunk: chunkHead + `{"content":"` + pad + `"}}]}` + "\n\n", Total: 3 * transport.DefaultMaxBody, Tail: "data: [DONE]\n\n"},
			WantCode: "output_over_max_tokens", WantMsg: "stream carried more than 8 MiB of output, more than any model answers",
			MaxWritten: 32 << 20},
		{Name: "tool-call arguments far beyond max_tokens are cut",
			Flood: &providertest.Flood{Head: chunkHead + `{"tool_calls":[{"index":0,"id":"t","type":"function","function":{"name":"f","arguments":""}}]}}]}` + "\n\n",
				Chunk: chunkHead + `{"tool_calls":[{"index":0,"function":{"arguments":"aaaaaaaa"}}]}}]}` + "\n\n", Total: 3 * transport.DefaultMaxBody, Tail: "data: [DONE]\n\n"},
			Params:   map[string]any{"max_completion_tokens": 2000},
			WantCode: "output_over_max_tokens", WantMsg: "far beyond max_tokens 2000",
			MaxWritten: 16 << 20},
	})
}

// TestTimeoutSettings checks the provider entry's timeouts reach every attempt.
func TestTimeoutSettings(t *testing.T) {
	providertest.TimeoutSettings(t, "m", floodProvider,
		chunkHead+`{"content":"hi"}}]}`+"\n\n",
		"no data for 20ms while reading the response (timeouts.idle)")
}
