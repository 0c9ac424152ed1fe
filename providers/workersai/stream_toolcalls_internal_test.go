package workersai

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
)

// TestStreamedToolCallFragments replays tool calls streamed the way Workers AI sends them,
// as documented in cloudflare/ai packages/workers-ai-provider/src/streaming.ts
// (emitToolCallDeltas): a start chunk {id, type, index, function:{name}}, argument deltas
// {index, function:{arguments:"partial…"}}, then a finalising chunk
// {id:null, type:null, function:{name:null}} — at the top level (native format) or under
// choices[0].delta (OpenAI format). Whole calls in one entry must still work.
func TestStreamedToolCallFragments(t *testing.T) {
	native := func(entries ...string) string {
		return `{"response":"","tool_calls":[` + strings.Join(entries, ",") + `]}`
	}
	openai := func(entries ...string) string {
		return `{"choices":[{"index":0,"delta":{"tool_calls":[` + strings.Join(entries, ",") + `]},"finish_reason":null}]}`
	}
	const (
		start0 = `{"id":"chatcmpl-tool-a","type":"function","index":0,"function":{"name":"get_weather"}}`
		args0a = `{"index":0,"function":{"arguments":"{\"city\": \"Lis"}}`
		args0b = `{"index":0,"function":{"arguments":"bon\"}"}}`
		start1 = `{"id":"chatcmpl-tool-b","type":"function","index":1,"function":{"name":"get_time","arguments":""}}`
		args1  = `{"index":1,"function":{"arguments":"{\"tz\":\"UTC\"}"}}`
		final  = `{"id":null,"type":null,"function":{"name":null}}`
	)
	two := []providers.ToolCall{
		{ID: "chatcmpl-tool-a", Name: "get_weather", Arguments: []byte(`{"city":"Lisbon"}`)},
		{ID: "chatcmpl-tool-b", Name: "get_time", Arguments: []byte(`{"tz":"UTC"}`)},
	}
	tests := []struct {
		name   string
		events []string
		want   []providers.ToolCall
	}{
		{name: "native fragments", events: []string{native(start0), native(args0a), native(args0b), native(final),
			native(start1), native(args1), native(final)}, want: two},
		{name: "openai fragments", events: []string{openai(start0), openai(args0a), openai(args0b), openai(final),
			openai(start1), openai(args1), openai(final)}, want: two},
		{name: "native fragments without finaliser", events: []string{native(start0), native(args0a, args0b), native(start1), native(args1)}, want: two},
		{name: "native whole calls", events: []string{native(`{"name":"get_weather","arguments":{"city":"Lisbon"}}`, `{"name":"get_time","arguments":{"tz":"UTC"}}`)},
			want: []providers.ToolCall{
				{ID: "call_0", Name: "get_weather", Arguments: []byte(`{"city":"Lisbon"}`)},
				{ID: "call_1", Name: "get_time", Arguments: []byte(`{"tz":"UTC"}`)}}},
		{name: "openai whole call", events: []string{openai(`{"index":0,"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Lisbon\"}"}}`)},
			want: []providers.ToolCall{{ID: "c1", Name: "get_weather", Arguments: []byte(`{"city":"Lisbon"}`)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body strings.Builder
			for _, ev := range tt.events {
				body.WriteString("data: " + ev + "\n\n")
			}
			body.WriteString("data: [DONE]\n\n")
			acc := &streamAcc{}
			if err := readEvents(strings.NewReader(body.String()), acc.event); err != nil {
				t.Fatal(err)
			}
			got, err := acc.result().response(providers.GenerateRequest{Model: "m"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.ToolCalls); diff != "" || got.FinishReason != "tool_calls" {
				t.Errorf("tool calls (-want +got):\n%s finish %q", diff, got.FinishReason)
			}
		})
	}
}
