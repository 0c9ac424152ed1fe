package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

// scripted returns a generator whose n-th reply (from 0) is script(n, req).
func scripted(script func(n int, req providers.GenerateRequest) providers.GenerateResponse) *steptest.Generator {
	var mu sync.Mutex
	n := 0
	return &steptest.Generator{Fn: func(_ context.Context, req providers.GenerateRequest) (providers.GenerateResponse, error) {
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		r := script(i, req)
		if req.Stream != nil && r.Text != "" {
			req.Stream(r.Text)
		}
		return r, nil
	}}
}

func call(name, args string) providers.ToolCall {
	return providers.ToolCall{Name: name, Arguments: []byte(args)}
}

// build compiles tools for step "a" and returns the agent.
func build(t *testing.T, tools string) *agent {
	t.Helper()
	st, diags := Kind.New(newStep(t, tools))
	if diags.HasErrors() {
		t.Fatalf("diagnostics: %v", diags)
	}
	return st.(*agent)
}

func agentCall(gen providers.Provider, env *steptest.Env, inputs map[string]any) *steps.Call {
	in := map[string]any{"max_turns": DefaultMaxTurns, "tool_retries": DefaultToolRetries, "parallel_tools": true, "on_limit": OnLimitFail}
	for k, v := range inputs {
		in[k] = v
	}
	return &steps.Call{StepID: "a", Item: -1, Inputs: in, Prompt: &steps.Prompt{System: "Use the tools.", User: "What is in the kb about starters?"},
		Model: steptest.Model(gen, "m"), Env: env}
}

// kbEnv serves the search kind with a canned answer and records its inputs.
func kbEnv(got *[]map[string]any) *steptest.Env {
	var mu sync.Mutex
	return &steptest.Env{Invokers: map[string]func(context.Context, map[string]any, string) (steps.Result, error){
		"search": func(_ context.Context, in map[string]any, model string) (steps.Result, error) {
			mu.Lock()
			*got = append(*got, in)
			mu.Unlock()
			return steps.Result{Output: map[string]any{"texts": []any{"Feed the starter daily.", "Use rye flour."}, "count": 2},
				Usage: providers.Usage{InputTokens: 4, USD: 0.001}}, nil
		},
	}}
}

func TestLoopStepTool(t *testing.T) {
	gen := scripted(func(n int, req providers.GenerateRequest) providers.GenerateResponse {
		if n == 0 {
			return providers.GenerateResponse{ToolCalls: []providers.ToolCall{{ID: "c1", Name: "search_kb", Arguments: []byte(`{"query":"starter"}`)}},
				Usage: providers.Usage{InputTokens: 20, OutputTokens: 5, USD: 0.01}}
		}
		return providers.GenerateResponse{Text: "Feed it daily.", Usage: providers.Usage{InputTokens: 40, OutputTokens: 4, USD: 0.02}}
	})
	var inputs []map[string]any
	env := kbEnv(&inputs)
	res, err := build(t, search).Run(context.Background(), agentCall(gen, env, nil))
	if err != nil {
		t.Fatal(err)
	}
	wantOut := map[string]any{"text": "Feed it daily.", "json": nil, "turns": 2, "stopped": "answer", "model": "test:m",
		"tool_calls": []any{map[string]any{"name": "search_kb", "arguments": map[string]any{"query": "starter"}, "ok": true}},
		"usage":      map[string]any{"input_tokens": 60, "output_tokens": 9, "usd": 0.03}}
	if d := cmp.Diff(wantOut, res.Output); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	if res.Usage != (providers.Usage{InputTokens: 60, OutputTokens: 9, USD: 0.03}) {
		t.Errorf("usage = %+v, want the model calls only", res.Usage)
	}
	wantIn := []map[string]any{{"index": steps.ResourceRef{Name: "kb"}, "text": "starter", "top_k": 3}}
	if d := cmp.Diff(wantIn, inputs); d != "" {
		t.Errorf("search inputs (-want +got):\n%s", d)
	}
	second := gen.Requests()[1]
	wantMsgs := []providers.Message{
		{Role: "system", Content: "Use the tools."},
		{Role: "user", Content: "What is in the kb about starters?"},
		{Role: "assistant", ToolCalls: []providers.ToolCall{{ID: "c1", Name: "search_kb", Arguments: []byte(`{"query":"starter"}`)}}},
		{Role: "tool", ToolCallID: "c1", Name: "search_kb", Content: `["Feed the starter daily.","Use rye flour."]`},
	}
	if d := cmp.Diff(wantMsgs, second.Messages); d != "" {
		t.Errorf("second request (-want +got):\n%s", d)
	}
	if len(second.Tools) != 1 || second.Tools[0].Name != "search_kb" || second.Tools[0].Parameters["required"] == nil {
		t.Errorf("tools sent = %+v", second.Tools)
	}
	wantTurns := []steps.Turn{
		{Index: 0, Role: "system", Content: "Use the tools."},
		{Index: 1, Role: "user", Content: "What is in the kb about starters?"},
		{Index: 2, Role: "assistant", Usage: providers.Usage{InputTokens: 20, OutputTokens: 5, USD: 0.01}},
		{Index: 3, Role: "assistant", ToolName: "search_kb", ToolCallID: "c1", Arguments: json.RawMessage(`{"query":"starter"}`)},
		{Index: 4, Role: "tool", ToolName: "search_kb", ToolCallID: "c1", Content: `["Feed the starter daily.","Use rye flour."]`, Usage: providers.Usage{InputTokens: 4, USD: 0.001}},
		{Index: 5, Role: "assistant", Content: "Feed it daily.", Usage: providers.Usage{InputTokens: 40, OutputTokens: 4, USD: 0.02}},
	}
	if d := cmp.Diff(wantTurns, env.Turns()); d != "" {
		t.Errorf("turns (-want +got):\n%s", d)
	}
	if ev := env.Events(); len(ev) != 1 || ev[0].Text != "Feed it daily." {
		t.Errorf("events = %+v, want the answer streamed", ev)
	}
}

// barrierTools are two flow tools that each wait until both have started, so they pass
// only when run concurrently (a sequential run fails them through the context).
const barrierTools = `
- {name: first, description: First lookup, parameters: {properties: {q: {type: string}}}, flow: first.yaml}
- {name: second, description: Second lookup, flow: second.yaml}
`

func TestParallelToolCalls(t *testing.T) {
	both := make(chan struct{})
	var mu sync.Mutex
	started := 0
	arrive := func(ctx context.Context, name string) (map[string]any, error) {
		mu.Lock()
		if started++; started == 2 {
			close(both)
		}
		mu.Unlock()
		select {
		case <-both:
			return map[string]any{"from": name}, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("%s ran alone", name)
		}
	}
	env := &steptest.Env{Flows: map[string]func(context.Context, map[string]any) (map[string]any, error){
		"first.yaml":  func(ctx context.Context, _ map[string]any) (map[string]any, error) { return arrive(ctx, "first") },
		"second.yaml": func(ctx context.Context, _ map[string]any) (map[string]any, error) { return arrive(ctx, "second") },
	}}
	gen := scripted(func(n int, req providers.GenerateRequest) providers.GenerateResponse {
		if n == 0 {
			return providers.GenerateResponse{ToolCalls: []providers.ToolCall{call("first", `{"q":"x"}`), call("second", ``)}}
		}
		return providers.GenerateResponse{Text: "done"}
	})
	// The deadline only turns a deadlock (tools run one after the other) into a failure.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := build(t, barrierTools).Run(ctx, agentCall(gen, env, nil)); err != nil {
		t.Fatal(err)
	}
	var got, ids []string
	for _, m := range gen.Requests()[1].Messages {
		if m.Role == "tool" {
			got, ids = append(got, m.Content), append(ids, m.ToolCallID)
		}
	}
	if d := cmp.Diff([]string{`{"from":"first"}`, `{"from":"second"}`}, got); d != "" {
		t.Errorf("tool results in order (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"call_1_0", "call_1_1"}, ids); d != "" {
		t.Errorf("ids given to id-less calls (-want +got):\n%s", d)
	}
}

func TestSequentialToolCalls(t *testing.T) {
	var mu sync.Mutex
	var order []string
	inFlight, most := 0, 0
	track := func(name string) (map[string]any, error) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		order = append(order, name)
		inFlight--
		mu.Unlock()
		return map[string]any{"from": name}, nil
	}
	env := &steptest.Env{Flows: map[string]func(context.Context, map[string]any) (map[string]any, error){
		"first.yaml":  func(context.Context, map[string]any) (map[string]any, error) { return track("first") },
		"second.yaml": func(context.Context, map[string]any) (map[string]any, error) { return track("second") },
	}}
	gen := scripted(func(n int, req providers.GenerateRequest) providers.GenerateResponse {
		if n == 0 {
			return providers.GenerateResponse{ToolCalls: []providers.ToolCall{call("second", `{}`), call("first", `{}`), call("second", `{}`)}}
		}
		return providers.GenerateResponse{Text: "done"}
	})
	if _, err := build(t, barrierTools).Run(context.Background(), agentCall(gen, env, map[string]any{"parallel_tools": false})); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"second", "first", "second"}, order); d != "" || most != 1 {
		t.Errorf("run order (-want +got):\n%s\nmost at once: %d", d, most)
	}
}

func TestInvalidArguments(t *testing.T) {
	tests := []struct {
		name      string
		replies   []providers.ToolCall // one bad call per turn, then a valid one
		retries   int
		wantErr   string
		wantError []string // tool error contents sent back
	}{
		{name: "schema error then valid", retries: 2,
			replies:   []providers.ToolCall{call("search_kb", `{"q":"starter"}`)},
			wantError: []string{"the arguments do not match the tool's parameters schema: "}},
		{name: "not json, unknown tool, then valid", retries: 2,
			replies:   []providers.ToolCall{call("search_kb", `{query: starter`), call("serch_kb", `{"query":"x"}`)},
			wantError: []string{"the arguments are not JSON: ", `there is no tool "serch_kb"; the tools are search_kb`}},
		{name: "array arguments", retries: 2,
			replies:   []providers.ToolCall{call("search_kb", `["starter"]`)},
			wantError: []string{"the arguments are not a JSON object"}},
		{name: "retries exhausted", retries: 1,
			replies: []providers.ToolCall{call("search_kb", `{}`), call("search_kb", `{"query":5}`)},
			wantErr: "model test:m called tools with invalid arguments 2 times (tool_retries is 1); last problem: search_kb: the arguments do not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gen := scripted(func(n int, req providers.GenerateRequest) providers.GenerateResponse {
				switch {
				case n < len(tt.replies):
					return providers.GenerateResponse{ToolCalls: []providers.ToolCall{tt.replies[n]}}
				case n == len(tt.replies):
					return providers.GenerateResponse{ToolCalls: []providers.ToolCall{call("search_kb", `{"query":"starter"}`)}}
				}
				return providers.GenerateResponse{Text: "answer"}
			})
			var inputs []map[string]any
			res, err := build(t, search).Run(context.Background(), agentCall(gen, kbEnv(&inputs), map[string]any{"tool_retries": tt.retries}))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want prefix %q", err, tt.wantErr)
				}
				if len(inputs) != 0 {
					t.Errorf("the tool ran %d times with invalid arguments", len(inputs))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var sent []string
			for _, r := range gen.Requests()[1:] {
				last := r.Messages[len(r.Messages)-1]
				if last.Role == "tool" && last.IsError {
					sent = append(sent, last.Content)
				}
			}
			if len(sent) != len(tt.wantError) {
				t.Fatalf("tool errors sent = %q, want %d", sent, len(tt.wantError))
			}
			for i, w := range tt.wantError {
				if !strings.HasPrefix(sent[i], w) {
					t.Errorf("tool error %d = %q, want prefix %q", i, sent[i], w)
				}
			}
			if len(inputs) != 1 || res.Output["text"] != "answer" {
				t.Errorf("tool ran %d times, text %v; want once with the valid arguments", len(inputs), res.Output["text"])
			}
			calls := res.Output["tool_calls"].([]any)
			if last := calls[len(calls)-1].(map[string]any); last["ok"] != true || calls[0].(map[string]any)["ok"] != false {
				t.Errorf("tool_calls = %v", calls)
			}
		})
	}
}

func TestToolFailureGoesToModel(t *testing.T) {
	env := &steptest.Env{Flows: map[string]func(context.Context, map[string]any) (map[string]any, error){
		"first.yaml": func(context.Context, map[string]any) (map[string]any, error) {
			return nil, errors.New("sub-flow first.yaml: step x: boom")
		},
	}}
	gen := scripted(func(n int, req providers.GenerateRequest) providers.GenerateResponse {
		if n == 0 {
			return providers.GenerateResponse{ToolCalls: []providers.ToolCall{call("first", `{}`)}}
		}
		return providers.GenerateResponse{Text: "the lookup failed"}
	})
	res, err := build(t, barrierTools).Run(context.Background(), agentCall(gen, env, map[string]any{"tool_retries": 0}))
	if err != nil {
		t.Fatal(err)
	}
	last := gen.Requests()[1].Messages[3]
	if !last.IsError || last.Content != "sub-flow first.yaml: step x: boom" || res.Output["text"] != "the lookup failed" {
		t.Errorf("tool turn = %+v, text %v", last, res.Output["text"])
	}
	if turns := env.Turns(); turns[len(turns)-2].Content != "error: sub-flow first.yaml: step x: boom" {
		t.Errorf("recorded tool result = %+v", turns[len(turns)-2])
	}
}

// looping always calls a tool and spends 10 output tokens and $0.01 a turn.
func looping() *steptest.Generator {
	return scripted(func(n int, req providers.GenerateRequest) providers.GenerateResponse {
		return providers.GenerateResponse{Text: fmt.Sprintf("thinking %d", n), ToolCalls: []providers.ToolCall{call("search_kb", `{"query":"more"}`)},
			Usage: providers.Usage{OutputTokens: 10, USD: 0.01}}
	})
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name       string
		inputs     map[string]any
		wantErr    string
		wantStop   string
		wantTurns  int
		wantTools  int
		wantParams []any // max_tokens sent per turn
	}{
		{name: "max_turns", inputs: map[string]any{"max_turns": 3}, wantTurns: 3, wantTools: 2,
			wantErr: "agent stopped without a final answer after 3 turns (max_turns is 3); it was still calling search_kb; raise the limit under with:, or set with: {on_limit: return} to get the partial answer"},
		{name: "max_turns returns", inputs: map[string]any{"max_turns": 2, "on_limit": "return"}, wantTurns: 2, wantTools: 1, wantStop: "max_turns"},
		{name: "max_tokens", inputs: map[string]any{"max_tokens": 25}, wantTurns: 3, wantTools: 2, wantParams: []any{25, 15, 5},
			wantErr: "agent stopped without a final answer after 3 turns (30 output tokens used of max_tokens 25)"},
		// $0.011 after turn 1 (model and tool), $0.022 after turn 2, $0.032 after turn 3: its tool is not run.
		{name: "budget", inputs: map[string]any{"budget_usd": 0.025, "on_limit": "return"}, wantTurns: 3, wantTools: 2, wantStop: "budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gen := looping()
			var inputs []map[string]any
			res, err := build(t, search).Run(context.Background(), agentCall(gen, kbEnv(&inputs), tt.inputs))
			if n := len(gen.Requests()); n != tt.wantTurns {
				t.Errorf("%d model calls, want %d", n, tt.wantTurns)
			}
			if len(inputs) != tt.wantTools {
				t.Errorf("%d tool runs, want %d", len(inputs), tt.wantTools)
			}
			var sent []any
			for _, r := range gen.Requests() {
				if v, ok := r.Params["max_tokens"]; ok {
					sent = append(sent, v)
				}
			}
			if d := cmp.Diff(tt.wantParams, sent); d != "" {
				t.Errorf("max_tokens per turn (-want +got):\n%s", d)
			}
			if tt.wantErr != "" {
				var le *LimitError
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || !errors.As(err, &le) {
					t.Fatalf("error = %v, want a LimitError starting %q", err, tt.wantErr)
				}
				// The turns were paid for: the engine counts usage returned with an error.
				if want := (providers.Usage{OutputTokens: 10 * tt.wantTurns, USD: 0.01 * float64(tt.wantTurns)}); res.Usage.OutputTokens != want.OutputTokens || res.Usage.USD < want.USD-1e-9 {
					t.Errorf("usage with the error = %+v, want the %d paid turns' %+v", res.Usage, tt.wantTurns, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("thinking %d", tt.wantTurns-1)
			if res.Output["stopped"] != tt.wantStop || res.Output["text"] != want || res.Output["turns"] != tt.wantTurns {
				t.Errorf("output = %v, want stopped %s with text %q", res.Output, tt.wantStop, want)
			}
		})
	}
}

var answerSchema = map[string]any{"type": "object", "required": []any{"answer", "sources"},
	"properties": map[string]any{"answer": map[string]any{"type": "string"}, "sources": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}}

func TestOutputSchema(t *testing.T) {
	tests := []struct {
		name     string
		finals   []providers.GenerateResponse
		wantJSON any
		wantErr  string
	}{
		{name: "valid", finals: []providers.GenerateResponse{{Text: "```json\n{\"answer\":\"daily\",\"sources\":[\"a.md\"]}\n```"}},
			wantJSON: map[string]any{"answer": "daily", "sources": []any{"a.md"}}},
		{name: "parsed by the provider", finals: []providers.GenerateResponse{{JSON: map[string]any{"answer": "daily", "sources": []any{}}}},
			wantJSON: map[string]any{"answer": "daily", "sources": []any{}}},
		{name: "repaired", finals: []providers.GenerateResponse{{Text: `{"answer":"daily"}`}, {Text: `{"answer":"daily","sources":["b.md"]}`}},
			wantJSON: map[string]any{"answer": "daily", "sources": []any{"b.md"}}},
		{name: "gives up", finals: []providers.GenerateResponse{{Text: "daily"}, {Text: "daily"}, {Text: "daily"}},
			wantErr: "model test:m answered 3 times without JSON matching output.schema; last problem: the answer is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gen := scripted(func(n int, req providers.GenerateRequest) providers.GenerateResponse {
				if n == 0 {
					return providers.GenerateResponse{ToolCalls: []providers.ToolCall{call("search_kb", `{"query":"starter"}`)}}
				}
				return tt.finals[min(n-1, len(tt.finals)-1)]
			})
			var inputs []map[string]any
			c := agentCall(gen, kbEnv(&inputs), nil)
			c.OutputSchema = answerSchema
			res, err := build(t, search).Run(context.Background(), c)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.wantJSON, res.Output["json"]); d != "" {
				t.Errorf("json (-want +got):\n%s", d)
			}
			for _, r := range gen.Requests() {
				if d := cmp.Diff(answerSchema, r.JSONSchema); d != "" {
					t.Fatalf("request without the schema (-want +got):\n%s", d)
				}
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	provErr := &providers.Error{Provider: "fake", Status: 429, Retryable: true, Message: "capacity"}
	failing := &steptest.Generator{Fn: func(context.Context, providers.GenerateRequest) (providers.GenerateResponse, error) {
		return providers.GenerateResponse{}, provErr
	}}
	tests := []struct {
		name    string
		prov    providers.Provider
		mutate  func(*steps.Call)
		wantErr string
	}{
		{"lacks generate", steptest.Bare{}, nil, "model test:m (provider kind bare) does not serve generate"},
		{"provider error", failing, nil, "generating with test:m (turn 1): fake: HTTP 429: capacity"},
		{"no task", failing, func(c *steps.Call) { c.Prompt = &steps.Prompt{System: "x"} }, "the prompt has no task: give prompt.user or prompt.messages"},
		{"bad limit", failing, func(c *steps.Call) { c.Inputs["max_turns"] = 0 }, "max_turns must be at least 1, got 0"},
		{"bad schema", failing, func(c *steps.Call) { c.OutputSchema = map[string]any{"type": 5} }, "output.schema is not a valid JSON Schema: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := agentCall(tt.prov, &steptest.Env{}, nil)
			if tt.mutate != nil {
				tt.mutate(c)
			}
			_, err := build(t, search).Run(context.Background(), c)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want prefix %q", err, tt.wantErr)
			}
		})
	}
	_, err := build(t, search).Run(context.Background(), agentCall(failing, &steptest.Env{}, nil))
	var pe *providers.Error
	if !errors.As(err, &pe) || !pe.Retryable {
		t.Errorf("provider error not unwrappable: %v", err)
	}
}
