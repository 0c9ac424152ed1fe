package openai_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestRecordedStream replays a recorded OpenAI stream (obfuscation padding, parallel
// tool calls whose arguments arrive in fragments, a usage chunk with details).
func TestRecordedStream(t *testing.T) {
	emu := wiretest.NewOpenAI(t)
	emu.Add(wiretest.Fault{Body: wiretest.OpenAIRecording(t, "stream_parallel_tools.sse")})
	p := newProvider(t, emu, nil)
	resp, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "gpt-4o-mini",
		Messages: user("Weather in Lisbon and Oslo?"), Stream: func(string) {},
		Tools: []providers.ToolSpec{{Name: "get_weather"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.ToolCall{
		{ID: "call_Lx1", Name: "get_weather", Arguments: []byte(`{"city":"Lisbon","unit":"C"}`)},
		{ID: "call_Os2", Name: "get_weather", Arguments: []byte(`{"city":"Oslo"}`)},
	}
	if diff := cmp.Diff(want, resp.ToolCalls); diff != "" {
		t.Errorf("tool calls (-want +got):\n%s", diff)
	}
	wantUsage := providers.Usage{InputTokens: 82, OutputTokens: 41, CachedTokens: 64, Requests: 1, USD: resp.Usage.USD}
	if diff := cmp.Diff(wantUsage, resp.Usage); diff != "" || resp.FinishReason != "tool_calls" || resp.Usage.USD == 0 {
		t.Errorf("usage (-want +got):\n%s\nfinish %s", diff, resp.FinishReason)
	}
	if resp.Meta["model"] != "gpt-4o-mini-2024-07-18" {
		t.Errorf("meta %v", resp.Meta)
	}
}
