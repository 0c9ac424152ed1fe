package openai_test

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
	emu := wiretest.NewOpenAI(t)
	p := newProvider(t, emu, nil)
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			var deltas []string
			req := providers.GenerateRequest{Model: "gpt-4o-mini", Messages: []providers.Message{
				{Role: "system", Content: "Be brief."}, {Role: "user", Content: "hello there, model"}}}
			if stream {
				req.Stream = func(d string) { deltas = append(deltas, d) }
			}
			resp, err := p.Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != "echo: hello there, model" || resp.FinishReason != "stop" {
				t.Errorf("got %q (%s)", resp.Text, resp.FinishReason)
			}
			if stream {
				if len(deltas) < 2 || strings.Join(deltas, "") != resp.Text {
					t.Errorf("deltas %q do not join to %q", deltas, resp.Text)
				}
				opts, _ := lastBody(t, &emu.Recorder)["stream_options"].(map[string]any)
				if opts["include_usage"] != true {
					t.Errorf("stream_options %v, want include_usage", opts)
				}
			}
			m, _ := catalog.Lookup("openai", "gpt-4o-mini")
			wantUSD, _ := m.Cost(resp.Usage.InputTokens, resp.Usage.OutputTokens)
			if resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 || resp.Usage.USD != wantUSD || wantUSD == 0 {
				t.Errorf("usage %+v, want tokens and USD %g", resp.Usage, wantUSD)
			}
			if resp.Meta["x-request-id"] == "" || resp.Meta["model"] != "gpt-4o-mini" {
				t.Errorf("meta %v", resp.Meta)
			}
		})
	}
}

func TestGenerateParams(t *testing.T) {
	params := map[string]any{"max_tokens": 64, "temperature": 0.2, "top_p": 0.9, "seed": 7,
		"stop": []any{"END"}, "presence_penalty": 0.5, "frequency_penalty": -0.5, "top_k": 40}
	cases := []struct {
		name     string
		emuOpts  []wiretest.OpenAIOption
		settings map[string]any
		want     map[string]any
	}{
		{"compatible server defaults to max_tokens", []wiretest.OpenAIOption{wiretest.WithOpenAIMaxTokensOnly()}, nil,
			map[string]any{"max_tokens": 64.0}},
		{"explicit max_completion_tokens", nil, map[string]any{"max_tokens_field": "max_completion_tokens"},
			map[string]any{"max_completion_tokens": 64.0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu := wiretest.NewOpenAI(t, tc.emuOpts...)
			p := newProvider(t, emu, tc.settings)
			if _, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "m", Messages: user("hi"), Params: params}); err != nil {
				t.Fatal(err)
			}
			got := lastBody(t, &emu.Recorder)
			want := map[string]any{"model": "m", "messages": []any{map[string]any{"role": "user", "content": "hi"}},
				"temperature": 0.2, "top_p": 0.9, "seed": 7.0, "stop": []any{"END"},
				"presence_penalty": 0.5, "frequency_penalty": -0.5}
			for k, v := range tc.want {
				want[k] = v
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("request body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGenerateRejectsBadInput(t *testing.T) {
	emu := wiretest.NewOpenAI(t)
	p := newProvider(t, emu, nil)
	cases := []struct {
		name string
		req  providers.GenerateRequest
		want string
	}{
		{"unknown param", providers.GenerateRequest{Model: "m", Messages: user("x"), Params: map[string]any{"mirostat": 2}}, "param mirostat: not supported"},
		{"bad role", providers.GenerateRequest{Model: "m", Messages: []providers.Message{{Role: "bot", Content: "x"}}}, "unknown role"},
		{"tool turn without id", providers.GenerateRequest{Model: "m", Messages: []providers.Message{{Role: "tool", Content: "x"}}}, "tool_call_id"},
		{"bad tool name", providers.GenerateRequest{Model: "m", Messages: user("x"), Tools: []providers.ToolSpec{{Name: "get weather"}}}, "tool \"get weather\""},
		{"no messages", providers.GenerateRequest{Model: "m"}, "no messages"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Generate(context.Background(), tc.req)
			pe := asProviderError(t, err)
			if !strings.Contains(pe.Error(), tc.want) || pe.Retryable {
				t.Errorf("error %q, want it to mention %q and not be retryable", pe, tc.want)
			}
		})
	}
	if n := emu.Count(); n != 0 {
		t.Errorf("%d requests sent for invalid input, want 0", n)
	}
}

func TestGenerateJSONSchema(t *testing.T) {
	schema := map[string]any{"type": "object", "title": "person", "additionalProperties": false,
		"required":   []any{"name", "age"},
		"properties": map[string]any{"name": map[string]any{"type": "string"}, "age": map[string]any{"type": "integer"}}}
	emu := wiretest.NewOpenAI(t)
	p := newProvider(t, emu, nil)
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			req := providers.GenerateRequest{Model: "gpt-4o-mini", Messages: user("Ada"), JSONSchema: schema}
			if stream {
				req.Stream = func(string) {}
			}
			resp, err := p.Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]any{"name": "Ada", "age": 1.0}, resp.JSON); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
			rf := lastBody(t, &emu.Recorder)["response_format"]
			want := map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "person", "strict": true, "schema": schema}}
			if diff := cmp.Diff(want, rf); diff != "" {
				t.Errorf("response_format (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGenerateJSONInvalid(t *testing.T) {
	emu := wiretest.NewOpenAI(t, wiretest.WithOpenAIScript(func(wiretest.ChatPrompt) wiretest.ChatTurn {
		return wiretest.ChatTurn{Text: `{"name": "Ada"`}
	}))
	p := newProvider(t, emu, nil)
	_, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "m", Messages: user("x"),
		JSONSchema: map[string]any{"type": "object"}})
	if pe := asProviderError(t, err); pe.Code != "invalid_json" {
		t.Errorf("error %v, want code invalid_json", pe)
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
		calls = append(calls, wiretest.ChatToolCall{Name: "get_weather", Arguments: fmt.Sprintf(`{"city": %q, "unit": "C"}`, city)})
	}
	return wiretest.ChatTurn{ToolCalls: calls}
}

func TestGenerateToolRoundTrip(t *testing.T) {
	tool := providers.ToolSpec{Name: "get_weather", Description: "Weather for a city",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}
	emu := wiretest.NewOpenAI(t, wiretest.WithOpenAIScript(weatherScript))
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
			if len(first.ToolCalls) != len(cities) || first.FinishReason != "tool_calls" {
				t.Fatalf("got %d tool calls (%s), want %d", len(first.ToolCalls), first.FinishReason, len(cities))
			}
			var want []string
			msgs = append(msgs, providers.Message{Role: "assistant", ToolCalls: first.ToolCalls})
			for i, c := range first.ToolCalls {
				wantArgs := fmt.Sprintf(`{"city":%q,"unit":"C"}`, cities[i])
				if c.Name != "get_weather" || string(c.Arguments) != wantArgs || c.ID == "" {
					t.Errorf("call %d: %s %s %s, want get_weather %s", i, c.ID, c.Name, c.Arguments, wantArgs)
				}
				msgs = append(msgs, providers.Message{Role: "tool", ToolCallID: c.ID, Name: c.Name, Content: "21C in " + cities[i]})
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

func TestGenerateInvalidToolArguments(t *testing.T) {
	emu := wiretest.NewOpenAI(t, wiretest.WithOpenAIScript(func(wiretest.ChatPrompt) wiretest.ChatTurn {
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
			pe := asProviderError(t, err)
			if pe.Code != "invalid_tool_arguments" || !strings.Contains(pe.Message, "tool call f") {
				t.Errorf("error %v, want invalid_tool_arguments naming f", pe)
			}
		})
	}
}

func TestGenerateSendsToolTurns(t *testing.T) {
	emu := wiretest.NewOpenAI(t)
	p := newProvider(t, emu, nil)
	msgs := []providers.Message{{Role: "user", Content: "q"},
		{Role: "assistant", ToolCalls: []providers.ToolCall{{ID: "call_9", Name: "f", Arguments: []byte(`{"a":1}`)}}},
		{Role: "tool", ToolCallID: "call_9", Content: "boom", IsError: true}}
	if _, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "m", Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(lastBody(t, &emu.Recorder)["messages"])
	want := `[{"content":"q","role":"user"},{"role":"assistant","tool_calls":[{"function":{"arguments":"{\"a\":1}","name":"f"},"id":"call_9","type":"function"}]},{"content":"error: boom","role":"tool","tool_call_id":"call_9"}]`
	if string(got) != want {
		t.Errorf("messages\n got %s\nwant %s", got, want)
	}
}
