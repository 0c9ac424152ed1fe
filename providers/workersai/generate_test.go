package workersai_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/providers/wiretest"
)

var weatherTool = providers.ToolSpec{Name: "get_weather", Description: "Weather for a city",
	Parameters: map[string]any{"type": "object", "required": []any{"city"},
		"properties": map[string]any{"city": map[string]any{"type": "string", "description": "City name"}}}}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name      string
		opts      []wiretest.CloudflareOption
		responder wiretest.CFResponder
		req       providers.GenerateRequest
		want      providers.GenerateResponse // Meta and Usage are not compared
		wantSent  map[string]any             // selected body fields
	}{
		{
			name: "echo with default max_tokens sent",
			req:  providers.GenerateRequest{Model: llama, Messages: []providers.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "hi there"}}},
			want: providers.GenerateResponse{Text: "echo: hi there", FinishReason: "stop"},
			wantSent: map[string]any{"max_tokens": 1024.0, "messages": []any{
				map[string]any{"role": "system", "content": "Be brief."}, map[string]any{"role": "user", "content": "hi there"}}},
		},
		{
			name: "params mapped",
			req: providers.GenerateRequest{Model: llama, Messages: user("a"), Params: map[string]any{
				"max_tokens": 50, "temperature": 0.2, "top_p": 0.9, "top_k": 40, "seed": 7,
				"repetition_penalty": 1.1, "frequency_penalty": 0.5, "presence_penalty": 0.5}},
			want: providers.GenerateResponse{Text: "echo: a", FinishReason: "stop"},
			wantSent: map[string]any{"max_tokens": 50.0, "temperature": 0.2, "top_p": 0.9, "top_k": 40.0, "seed": 7.0,
				"repetition_penalty": 1.1, "frequency_penalty": 0.5, "presence_penalty": 0.5},
		},
		{
			name: "all max_tokens used is length",
			req:  providers.GenerateRequest{Model: llama, Messages: user("one two three four"), Params: map[string]any{"max_tokens": 3}},
			want: providers.GenerateResponse{Text: "echo: one two", FinishReason: "length"},
		},
		{
			name: "json mode object response",
			req: providers.GenerateRequest{Model: llama, Messages: user("India"),
				JSONSchema: map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}},
			want: providers.GenerateResponse{Text: `{"name":"India"}`, JSON: map[string]any{"name": "India"}, FinishReason: "stop"},
			wantSent: map[string]any{"response_format": map[string]any{"type": "json_schema",
				"json_schema": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}}},
		},
		{
			name: "json mode string response",
			opts: []wiretest.CloudflareOption{wiretest.WithCFJSONAsString()},
			req: providers.GenerateRequest{Model: llama, Messages: user("India"),
				JSONSchema: map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}},
			want: providers.GenerateResponse{Text: `{"name":"India"}`, JSON: map[string]any{"name": "India"}, FinishReason: "stop"},
		},
		{
			name: "tool call id-less with object arguments",
			req:  providers.GenerateRequest{Model: llama, Messages: user("Lisbon"), Tools: []providers.ToolSpec{weatherTool}},
			want: providers.GenerateResponse{ToolCalls: []providers.ToolCall{{ID: "call_0", Name: "get_weather", Arguments: []byte(`{"city":"Lisbon"}`)}},
				FinishReason: "tool_calls"},
		},
		{
			name: "tool call in the OpenAI shape",
			responder: func(run wiretest.CFRun) (any, bool) {
				return map[string]any{"choices": []any{map[string]any{"finish_reason": "tool_calls", "message": map[string]any{
					"content": nil, "tool_calls": []any{map[string]any{"id": "call_x", "type": "function",
						"function": map[string]any{"name": "get_weather", "arguments": `{"city": "Porto"}`}}}}}}}, true
			},
			req: providers.GenerateRequest{Model: llama, Messages: user("Porto"), Tools: []providers.ToolSpec{weatherTool}},
			want: providers.GenerateResponse{ToolCalls: []providers.ToolCall{{ID: "call_x", Name: "get_weather", Arguments: []byte(`{"city":"Porto"}`)}},
				FinishReason: "tool_calls"},
		},
		{
			name: "tool result turn sent as string content",
			req: providers.GenerateRequest{Model: llama, Tools: []providers.ToolSpec{weatherTool}, Messages: []providers.Message{
				{Role: "user", Content: "Lisbon"},
				{Role: "assistant", ToolCalls: []providers.ToolCall{{ID: "call_0", Name: "get_weather", Arguments: []byte(`{"city":"Lisbon"}`)}}},
				{Role: "tool", ToolCallID: "call_0", Content: "21C sunny"}}},
			want: providers.GenerateResponse{Text: "echo: 21C sunny", FinishReason: "stop"},
			wantSent: map[string]any{"messages": []any{
				map[string]any{"role": "user", "content": "Lisbon"},
				map[string]any{"role": "assistant", "content": "", "tool_calls": []any{map[string]any{"id": "call_0", "type": "function",
					"function": map[string]any{"name": "get_weather", "arguments": `{"city":"Lisbon"}`}}}},
				map[string]any{"role": "tool", "content": "21C sunny", "name": "get_weather", "tool_call_id": "call_0"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t, tt.opts...)
			cf.SetResponder(tt.responder)
			p := open(t, cf, nil)
			got, err := p.Generate(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			got.Meta, got.Usage = nil, providers.Usage{}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			checkSent(t, cf, tt.wantSent)
		})
	}
}

// checkSent compares selected fields of the last request body.
func checkSent(t *testing.T, cf *wiretest.Cloudflare, want map[string]any) {
	t.Helper()
	if want == nil {
		return
	}
	reqs := cf.Requests()
	var body map[string]any
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &body); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for k := range want {
		got[k] = body[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sent body (-want +got):\n%s", diff)
	}
}

func TestGenerateRejectsBeforeSending(t *testing.T) {
	tests := []struct {
		name string
		req  providers.GenerateRequest
		want string
	}{
		{"unknown param", providers.GenerateRequest{Model: llama, Messages: user("a"), Params: map[string]any{"stop": []any{"x"}}}, "param stop is not supported"},
		// Computed at run time (validate checks literal params): the published ranges apply.
		{"seed below the published minimum", providers.GenerateRequest{Model: llama, Messages: user("a"), Params: map[string]any{"seed": 0}}, "param seed: the published input schema of @cf/meta/llama-3.1-8b-instruct wants an integer from 1 to 9999999999, got 0"},
		{"top_k above the published maximum", providers.GenerateRequest{Model: llama, Messages: user("a"), Params: map[string]any{"top_k": 100}}, "wants an integer from 1 to 50, got 100"},
		{"fractional max_tokens", providers.GenerateRequest{Model: llama, Messages: user("a"), Params: map[string]any{"max_tokens": 1.5}}, "param max_tokens: want a number"},
		{"bad role", providers.GenerateRequest{Model: llama, Messages: []providers.Message{{Role: "developer", Content: "x"}}}, `role "developer"`},
		{"no messages", providers.GenerateRequest{Model: llama}, "no messages"},
		{"no model", providers.GenerateRequest{Messages: user("a")}, "no model"},
		{"model that bends the URL", providers.GenerateRequest{Model: "@cf/../../x?y", Messages: user("a")}, "not a Workers AI model id"},
	}
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Generate(context.Background(), tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if cf.Count() != 0 {
		t.Errorf("%d requests sent", cf.Count())
	}
}

func TestGenerateUsage(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	got, err := p.Generate(context.Background(), providers.GenerateRequest{Model: llama, Messages: user("one two three")})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := catalog.Lookup("workers-ai", llama)
	usd, neurons := m.Cost(3, 4)
	want := providers.Usage{InputTokens: 3, OutputTokens: 4, Neurons: neurons, USD: usd, Requests: 1}
	if diff := cmp.Diff(want, got.Usage); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	if got.Meta["model"] != llama {
		t.Errorf("meta = %v", got.Meta)
	}
	// Reported neurons win over the catalogue.
	cf.SetResponder(func(wiretest.CFRun) (any, bool) {
		return map[string]any{"response": "x", "usage": map[string]any{"prompt_tokens": 1, "completion_tokens": 1, "neurons": 2.5}}, true
	})
	got, err = p.Generate(context.Background(), providers.GenerateRequest{Model: llama, Messages: user("a")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Usage.Neurons != 2.5 || got.Usage.USD != 2.5*catalog.NeuronUSD() {
		t.Errorf("usage with reported neurons = %+v", got.Usage)
	}
}

func TestRawSlashPath(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	if _, err := p.Generate(context.Background(), providers.GenerateRequest{Model: llama, Messages: user("a")}); err != nil {
		t.Fatal(err)
	}
	want := "/client/v4/accounts/" + cf.Account() + "/ai/run/@cf/meta/llama-3.1-8b-instruct"
	if got := cf.Requests()[0].Path; got != want {
		t.Errorf("path = %s, want %s", got, want)
	}
}

func TestGPTOSSUsesChatCompletions(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	var deltas []string
	for _, stream := range []bool{false, true} {
		req := providers.GenerateRequest{Model: "@cf/openai/gpt-oss-20b", Messages: user("hello world")}
		if stream {
			req.Stream = func(d string) { deltas = append(deltas, d) }
		}
		got, err := p.Generate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != "echo: hello world" || got.Usage.InputTokens != 2 {
			t.Errorf("stream=%v: text %q usage %+v", stream, got.Text, got.Usage)
		}
	}
	if strings.Join(deltas, "") != "echo: hello world" {
		t.Errorf("deltas %q", deltas)
	}
	if got := cf.Requests()[0].Path; got != "/client/v4/accounts/"+cf.Account()+"/ai/v1/chat/completions" {
		t.Errorf("path %s", got)
	}
}
