package anthropic_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestRecordedStream replays a recorded Anthropic stream: a text block, pings between
// deltas, a tool_use block whose input_json_delta fragments start with "".
func TestRecordedStream(t *testing.T) {
	emu := wiretest.NewAnthropic(t)
	emu.Add(wiretest.Fault{Body: wiretest.AnthropicRecording(t, "stream_tool_use.sse")})
	p := newProvider(t, emu, nil)
	var deltas []string
	resp, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "claude-sonnet-4-5",
		Messages: user("Weather in SF?"), Stream: func(d string) { deltas = append(deltas, d) },
		Tools: []providers.ToolSpec{{Name: "get_weather"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := providers.GenerateResponse{
		Text: "Okay, let me check the weather.", FinishReason: "tool_use",
		ToolCalls: []providers.ToolCall{{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather",
			Arguments: []byte(`{"location":"San Francisco, CA","unit":"fahrenheit"}`)}},
		Usage: providers.Usage{InputTokens: 472, OutputTokens: 89, Requests: 1, USD: resp.Usage.USD},
		Meta:  providers.Meta{"model": "claude-sonnet-4-5-20250929", "request-id": resp.Meta["request-id"]},
	}
	if diff := cmp.Diff(want, resp); diff != "" || strings.Join(deltas, "") != want.Text || resp.Usage.USD == 0 {
		t.Errorf("response (-want +got):\n%s\ndeltas %q", diff, deltas)
	}
}
