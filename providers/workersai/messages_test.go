package workersai_test

import (
	"context"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestToolTurnMessages checks the assistant and tool turns of a tool round trip are sent
// in the shape Cloudflare's own client sends them (cloudflare/ai
// packages/workers-ai-provider/src/convert-to-workersai-chat-messages.ts): the assistant
// turn carries {id, type:"function", function:{name, arguments:"<json string>"}} calls,
// the tool turn its name and tool_call_id. The tool name comes from the call answered
// when the turn does not name it.
func TestToolTurnMessages(t *testing.T) {
	msgs := []providers.Message{
		{Role: "user", Content: "Weather in Lisbon?"},
		{Role: "assistant", ToolCalls: []providers.ToolCall{{ID: "chatcmpl-tool-a", Name: "get_weather", Arguments: []byte(`{"city":"Lisbon"}`)}}},
		{Role: "tool", ToolCallID: "chatcmpl-tool-a", Content: `{"temp":21}`},
		{Role: "tool", ToolCallID: "other", Name: "get_time", Content: "noon", IsError: true},
	}
	want := []any{
		map[string]any{"role": "user", "content": "Weather in Lisbon?"},
		map[string]any{"role": "assistant", "content": "", "tool_calls": []any{map[string]any{
			"id": "chatcmpl-tool-a", "type": "function",
			"function": map[string]any{"name": "get_weather", "arguments": `{"city":"Lisbon"}`}}}},
		map[string]any{"role": "tool", "content": `{"temp":21}`, "name": "get_weather", "tool_call_id": "chatcmpl-tool-a"},
		map[string]any{"role": "tool", "content": "Error: noon", "name": "get_time", "tool_call_id": "other"},
	}
	for _, model := range []string{llama, "@cf/openai/gpt-oss-20b"} {
		t.Run(model, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			p := open(t, cf, nil)
			if _, err := p.Generate(context.Background(), providers.GenerateRequest{Model: model, Messages: msgs,
				Tools: []providers.ToolSpec{weatherTool}}); err != nil {
				t.Fatal(err)
			}
			checkSent(t, cf, map[string]any{"messages": want})
		})
	}
}
