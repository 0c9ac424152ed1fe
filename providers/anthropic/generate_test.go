package anthropic_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func TestGenerate(t *testing.T) {
	emu := wiretest.NewAnthropic(t)
	p := newProvider(t, emu, nil)
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			var deltas []string
			req := providers.GenerateRequest{Model: "claude-sonnet-4-5", Messages: []providers.Message{
				{Role: "system", Content: "Be brief."}, {Role: "user", Content: "hello there, model"}}}
			if stream {
				req.Stream = func(d string) { deltas = append(deltas, d) }
			}
			resp, err := p.Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != "echo: hello there, model" || resp.FinishReason != "end_turn" {
				t.Errorf("got %q (%s)", resp.Text, resp.FinishReason)
			}
			if stream && (len(deltas) < 2 || strings.Join(deltas, "") != resp.Text) {
				t.Errorf("deltas %q do not join to %q", deltas, resp.Text)
			}
			body := lastBody(t, &emu.Recorder)
			if body["system"] == nil || body["max_tokens"] != 1024.0 {
				t.Errorf("system %v, max_tokens %v; want the system prompt on top and the 1024 default", body["system"], body["max_tokens"])
			}
			m, _ := catalog.Lookup("anthropic", "claude-sonnet-4-5")
			wantUSD, _ := m.Cost(resp.Usage.InputTokens, resp.Usage.OutputTokens)
			if resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 || resp.Usage.USD != wantUSD || wantUSD == 0 {
				t.Errorf("usage %+v, want tokens and USD %g", resp.Usage, wantUSD)
			}
			if resp.Meta["request-id"] == "" || resp.Meta["model"] != "claude-sonnet-4-5" {
				t.Errorf("meta %v", resp.Meta)
			}
		})
	}
}

func TestGenerateRequestBody(t *testing.T) {
	emu := wiretest.NewAnthropic(t)
	p := newProvider(t, emu, map[string]any{"max_tokens": 300})
	msgs := []providers.Message{
		{Role: "system", Content: "Rule one."},
		{Role: "user", Content: "part one"}, {Role: "user", Content: "part two"},
		{Role: "assistant", Content: "Checking.", ToolCalls: []providers.ToolCall{
			{ID: "toolu_1", Name: "f", Arguments: []byte(`{"a":1}`)}, {ID: "toolu_2", Name: "f", Arguments: []byte(`{"a":2}`)}}},
		{Role: "tool", ToolCallID: "toolu_1", Content: "one"},
		{Role: "tool", ToolCallID: "toolu_2", Content: "failed", IsError: true},
		{Role: "system", Content: "Rule two."},
		{Role: "user", Content: "and now?"},
	}
	req := providers.GenerateRequest{Model: "claude-haiku-4-5", Messages: msgs,
		Params: map[string]any{"temperature": 0.3, "top_p": 0.8, "top_k": 5, "stop": "END", "seed": 3},
		Tools: []providers.ToolSpec{{Name: "f", Description: "F.", Parameters: map[string]any{"type": "object",
			"properties": map[string]any{"a": map[string]any{"type": "integer"}}, "required": []any{"a"}, "additionalProperties": false}}}}
	if _, err := p.Generate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	got := lastBody(t, &emu.Recorder)
	want := map[string]any{
		"model": "claude-haiku-4-5", "max_tokens": 300.0, "temperature": 0.3, "top_p": 0.8, "top_k": 5.0,
		"stop_sequences": []any{"END"},
		"system":         []any{map[string]any{"type": "text", "text": "Rule one.\n\nRule two."}},
		"tools": []any{map[string]any{"name": "f", "description": "F.", "input_schema": map[string]any{"type": "object",
			"properties": map[string]any{"a": map[string]any{"type": "integer"}}, "required": []any{"a"}, "additionalProperties": false}}},
		"messages": []any{
			map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "text", "text": "part one"}, map[string]any{"type": "text", "text": "part two"}}},
			map[string]any{"role": "assistant", "content": []any{
				map[string]any{"type": "text", "text": "Checking."},
				map[string]any{"type": "tool_use", "id": "toolu_1", "name": "f", "input": map[string]any{"a": 1.0}},
				map[string]any{"type": "tool_use", "id": "toolu_2", "name": "f", "input": map[string]any{"a": 2.0}}}},
			map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "tool_result", "tool_use_id": "toolu_1", "is_error": false,
					"content": []any{map[string]any{"type": "text", "text": "one"}}},
				map[string]any{"type": "tool_result", "tool_use_id": "toolu_2", "is_error": true,
					"content": []any{map[string]any{"type": "text", "text": "failed"}}},
				map[string]any{"type": "text", "text": "and now?"}}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}
}

func TestGenerateRejectsBadInput(t *testing.T) {
	emu := wiretest.NewAnthropic(t)
	p := newProvider(t, emu, nil)
	cases := []struct {
		name string
		req  providers.GenerateRequest
		want string
	}{
		{"unknown param", providers.GenerateRequest{Model: "m", Messages: user("x"), Params: map[string]any{"logit_bias": 1}}, "param logit_bias: not supported"},
		{"only system", providers.GenerateRequest{Model: "m", Messages: []providers.Message{{Role: "system", Content: "x"}}}, "no user message"},
		{"bad arguments", providers.GenerateRequest{Model: "m", Messages: []providers.Message{{Role: "user", Content: "x"},
			{Role: "assistant", ToolCalls: []providers.ToolCall{{ID: "t", Name: "f", Arguments: []byte(`[1]`)}}}}}, "not a JSON object"},
		{"tool turn without id", providers.GenerateRequest{Model: "m", Messages: []providers.Message{{Role: "tool", Content: "x"}}}, "tool_call_id"},
		{"reserved tool name", providers.GenerateRequest{Model: "m", Messages: user("x"), JSONSchema: map[string]any{"type": "object"},
			Tools: []providers.ToolSpec{{Name: "json_output"}}}, "reserved"},
		{"non-object tool schema", providers.GenerateRequest{Model: "m", Messages: user("x"),
			Tools: []providers.ToolSpec{{Name: "f", Parameters: map[string]any{"type": "array"}}}}, "type object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Generate(context.Background(), tc.req)
			if pe := asProviderError(t, err); !strings.Contains(pe.Message, tc.want) || pe.Retryable {
				t.Errorf("error %v, want %q and not retryable", pe, tc.want)
			}
		})
	}
	if emu.Count() != 0 {
		t.Errorf("%d requests sent", emu.Count())
	}
}

func TestGenerateJSON(t *testing.T) {
	object := map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"},
		"tags": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}}
	list := map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
	cases := []struct {
		name     string
		schema   map[string]any
		want     any
		wantText string
	}{
		{"object schema", object, map[string]any{"name": "Ada", "tags": []any{"Ada"}}, `{"name":"Ada","tags":["Ada"]}`},
		{"array schema wrapped", list, []any{"Ada"}, `["Ada"]`},
	}
	emu := wiretest.NewAnthropic(t)
	p := newProvider(t, emu, nil)
	for _, tc := range cases {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.name, stream), func(t *testing.T) {
				req := providers.GenerateRequest{Model: "m", Messages: user("Ada"), JSONSchema: tc.schema}
				if stream {
					req.Stream = func(string) {}
				}
				resp, err := p.Generate(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, resp.JSON); diff != "" || resp.Text != tc.wantText || len(resp.ToolCalls) != 0 {
					t.Errorf("JSON (-want +got):\n%s\ntext %q, %d tool calls", diff, resp.Text, len(resp.ToolCalls))
				}
				choice := lastBody(t, &emu.Recorder)["tool_choice"]
				if diff := cmp.Diff(map[string]any{"type": "tool", "name": "json_output"}, choice); diff != "" {
					t.Errorf("tool_choice (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// weatherScript calls get_weather once per city in the user message (parallel calls for
// several cities), then answers from the tool results.
func weatherScript(p wiretest.ChatPrompt) wiretest.ChatTurn {
	if results := p.ToolResults(); len(results) > 0 {
		var parts []string
		for _, r := range results {
			parts = append(parts, r.ToolCallID+"="+r.Content)
		}
		return wiretest.ChatTurn{Text: "Weather: " + strings.Join(parts, "; ")}
	}
	var calls []wiretest.ChatToolCall
	for _, city := range strings.Fields(p.LastUser()) {
		calls = append(calls, wiretest.ChatToolCall{Name: "get_weather", Arguments: fmt.Sprintf(`{"city": %q}`, city)})
	}
	return wiretest.ChatTurn{Text: "Let me check.", ToolCalls: calls}
}

func TestGenerateToolRoundTrip(t *testing.T) {
	tool := providers.ToolSpec{Name: "get_weather", Description: "Weather for a city",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}
	emu := wiretest.NewAnthropic(t, wiretest.WithAnthropicScript(weatherScript))
	p := newProvider(t, emu, nil)
	cases := []struct {
		name, cities string
		stream       bool
	}{
		{"one call", "Lisbon", false}, {"parallel calls", "Lisbon Oslo Quito", false},
		{"one call streamed", "Lisbon", true}, {"parallel calls streamed", "Lisbon Oslo Quito", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgs := user(tc.cities)
			req := providers.GenerateRequest{Model: "m", Messages: msgs, Tools: []providers.ToolSpec{tool}}
			if tc.stream {
				req.Stream = func(string) {}
			}
			first, err := p.Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			cities := strings.Fields(tc.cities)
			if len(first.ToolCalls) != len(cities) || first.FinishReason != "tool_use" || first.Text != "Let me check." {
				t.Fatalf("got %d tool calls (%s, %q), want %d", len(first.ToolCalls), first.FinishReason, first.Text, len(cities))
			}
			msgs = append(msgs, providers.Message{Role: "assistant", Content: first.Text, ToolCalls: first.ToolCalls})
			var want []string
			for i, c := range first.ToolCalls {
				if wantArgs := fmt.Sprintf(`{"city":%q}`, cities[i]); c.Name != "get_weather" || string(c.Arguments) != wantArgs || c.ID == "" {
					t.Errorf("call %d: %s %s %s, want %s", i, c.ID, c.Name, c.Arguments, wantArgs)
				}
				msgs = append(msgs, providers.Message{Role: "tool", ToolCallID: c.ID, Content: "21C in " + cities[i]})
				want = append(want, c.ID+"=21C in "+cities[i])
			}
			req.Messages = msgs
			final, err := p.Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if w := "Weather: " + strings.Join(want, "; "); final.Text != w {
				t.Errorf("final %q, want %q", final.Text, w)
			}
		})
	}
}

func TestGenerateInvalidToolInput(t *testing.T) {
	emu := wiretest.NewAnthropic(t, wiretest.WithAnthropicScript(func(wiretest.ChatPrompt) wiretest.ChatTurn {
		return wiretest.ChatTurn{ToolCalls: []wiretest.ChatToolCall{{Name: "f", Arguments: `{"city": "Lis`}}}
	}))
	p := newProvider(t, emu, nil)
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			req := providers.GenerateRequest{Model: "m", Messages: user("x"), Tools: []providers.ToolSpec{{Name: "f"}}}
			if stream {
				req.Stream = func(string) {}
			}
			_, err := p.Generate(context.Background(), req)
			if pe := asProviderError(t, err); pe.Code != "invalid_tool_arguments" || !strings.Contains(pe.Message, "tool call f") {
				t.Errorf("error %v, want invalid_tool_arguments naming f", pe)
			}
		})
	}
}

func TestLargeMaxTokensStreamsInternally(t *testing.T) {
	emu := wiretest.NewAnthropic(t)
	p := newProvider(t, emu, nil)
	resp, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "m", Messages: user("hi"),
		Params: map[string]any{"max_tokens": 64000}})
	if err != nil || resp.Text != "echo: hi" {
		t.Fatalf("got %q, %v", resp.Text, err)
	}
	if body := lastBody(t, &emu.Recorder); body["stream"] != true {
		t.Errorf("stream %v, want a streamed request for max_tokens 64000", body["stream"])
	}
}

func TestToolInputSchemaKeepsKeywords(t *testing.T) {
	emu := wiretest.NewAnthropic(t)
	p := newProvider(t, emu, nil)
	schema := map[string]any{"type": "object", "$defs": map[string]any{"x": map[string]any{"type": "string"}},
		"properties": map[string]any{"a": map[string]any{"$ref": "#/$defs/x"}}}
	if _, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "m", Messages: user("x"),
		Tools: []providers.ToolSpec{{Name: "f", Parameters: schema}}}); err != nil {
		t.Fatal(err)
	}
	tools, _ := json.Marshal(lastBody(t, &emu.Recorder)["tools"])
	if want := `[{"input_schema":{"$defs":{"x":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/x"}},"type":"object"},"name":"f"}]`; string(tools) != want {
		t.Errorf("tools\n got %s\nwant %s", tools, want)
	}
}
