package generate

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/steptest"
	"github.com/aiflow/aiflow/tokens"
)

// answers returns a generator that replies with the given responses in turn (the last one
// repeats) and streams each reply's text in two pieces.
func answers(rs ...providers.GenerateResponse) *steptest.Generator {
	n := 0
	return &steptest.Generator{Fn: func(_ context.Context, req providers.GenerateRequest) (providers.GenerateResponse, error) {
		r := rs[min(n, len(rs)-1)]
		n++
		if req.Stream != nil && r.Text != "" {
			half := len(r.Text) / 2
			req.Stream(r.Text[:half])
			req.Stream(r.Text[half:])
		}
		return r, nil
	}}
}

func newCall(m *steps.Model, env *steptest.Env, p *steps.Prompt) *steps.Call {
	return &steps.Call{StepID: "g", Item: -1, Inputs: map[string]any{"truncate": false}, Prompt: p, Model: m, Env: env}
}

func TestRun(t *testing.T) {
	gen := answers(providers.GenerateResponse{Text: "Paris.", FinishReason: "stop",
		Usage: providers.Usage{InputTokens: 12, OutputTokens: 2}, Meta: providers.Meta{"cf-aig-cache-status": "MISS"}})
	env := &steptest.Env{}
	m := steptest.Model(gen, "llama")
	m.Gateway = &providers.GatewayOptions{CacheKey: "k"}
	call := newCall(m, env, &steps.Prompt{System: "Be brief.", User: "Capital of France?",
		Messages: []providers.Message{{Role: "user", Content: "Hi"}, {Role: "assistant", Content: "Hello"}}})
	call.Params = map[string]any{"max_tokens": 50, "temperature": 0.2, "stop": []any{"\n"}}
	res, err := (&generator{}).Run(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	want := steps.Result{
		Output: map[string]any{"text": "Paris.", "json": nil, "usage": map[string]any{"input_tokens": 12, "output_tokens": 2},
			"model": "test:llama", "finish_reason": "stop", "tool_calls": []any{}},
		Usage: providers.Usage{InputTokens: 12, OutputTokens: 2}, Meta: providers.Meta{"cf-aig-cache-status": "MISS"}, ModelRef: "test:llama",
	}
	if d := cmp.Diff(want, res); d != "" {
		t.Errorf("result (-want +got):\n%s", d)
	}
	req := gen.Requests()[0]
	wantMsgs := []providers.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"},
		{Role: "assistant", Content: "Hello"}, {Role: "user", Content: "Capital of France?"}}
	if d := cmp.Diff(wantMsgs, req.Messages); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
	if d := cmp.Diff(call.Params, req.Params); d != "" || req.Model != "llama" || req.Gateway != m.Gateway || req.JSONSchema != nil {
		t.Errorf("request = %+v (params diff %s)", req, d)
	}
	wantEvents := []steps.Event{{Kind: "token", Text: "Par"}, {Kind: "token", Text: "is."}}
	if d := cmp.Diff(wantEvents, env.Events()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
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
		prompt  *steps.Prompt
		wantErr string
		typed   bool
	}{
		{"lacks generate", steptest.Bare{}, &steps.Prompt{User: "x"}, "model test:m (provider kind bare) does not serve generate", false},
		{"no prompt", answers(providers.GenerateResponse{}), nil, "generate needs a prompt", false},
		{"system only", answers(providers.GenerateResponse{}), &steps.Prompt{System: "x"}, "the prompt has no user content: give prompt.user or prompt.messages", false},
		{"bad role", answers(providers.GenerateResponse{}), &steps.Prompt{Messages: []providers.Message{{Role: "bot", Content: "x"}}},
			`prompt.messages[0]: unknown role "bot" (allowed: system, user, assistant, tool)`, false},
		{"provider error", failing, &steps.Prompt{User: "x"}, "generating with test:m: fake: HTTP 429: capacity", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := (&generator{}).Run(context.Background(), newCall(steptest.Model(tt.prov, "m"), &steptest.Env{}, tt.prompt))
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			var pe *providers.Error
			if errors.As(err, &pe) != tt.typed {
				t.Errorf("errors.As(*providers.Error) = %v, want %v", !tt.typed, tt.typed)
			}
		})
	}
}

// catalogModel is a catalogue model with a 7968-token window.
func catalogModel(p providers.Provider) *steps.Model {
	return &steps.Model{ProviderName: "cf", ProviderKind: "workers-ai", ID: "@cf/meta/llama-3.1-8b-instruct", Provider: p}
}

func TestContextWindow(t *testing.T) {
	long := strings.Repeat("lorem ipsum dolor sit amet ", 2500) // ~12,500 tokens
	prompt := &steps.Prompt{System: "Summarise.", User: long}
	need, _ := estimate([]providers.Message{{Role: "system", Content: "Summarise."}, {Role: "user", Content: long}})
	tests := []struct {
		name     string
		truncate bool
		params   map[string]any
		prompt   *steps.Prompt
		wantErr  string
		wantCut  bool
	}{
		{name: "fits", prompt: &steps.Prompt{User: "short"}},
		{name: "too long", prompt: prompt, wantErr: "the prompt is about " + strconv.Itoa(need) +
			" tokens but model cf:@cf/meta/llama-3.1-8b-instruct has a context window of 7968 tokens: shorten the input, pick a model with a larger window, or set with: {truncate: true}"},
		{name: "max_tokens counts", prompt: &steps.Prompt{User: strings.Repeat("lorem ipsum dolor sit amet ", 1400)}, params: map[string]any{"max_tokens": 2000},
			wantErr: "plus 2000 for max_tokens but model cf:@cf/meta/llama-3.1-8b-instruct has a context window of 7968 tokens"},
		{name: "truncated", truncate: true, prompt: prompt, params: map[string]any{"max_tokens": 500.0}, wantCut: true},
		{name: "cannot cut enough", truncate: true, prompt: &steps.Prompt{System: long, User: "q"},
			wantErr: "and cutting the longest user message cannot make it fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gen := answers(providers.GenerateResponse{Text: "ok"})
			call := newCall(catalogModel(gen), &steptest.Env{}, tt.prompt)
			call.Inputs["truncate"], call.Params = tt.truncate, tt.params
			_, err := (&generator{}).Run(context.Background(), call)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				if n := len(gen.Requests()); n != 0 {
					t.Errorf("%d requests sent after a window error", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			msgs := gen.Requests()[0].Messages
			user := msgs[len(msgs)-1].Content
			if !tt.wantCut {
				if user != tt.prompt.User {
					t.Errorf("user content changed")
				}
				return
			}
			if !strings.HasPrefix(long, user) || len(user) >= len(long) {
				t.Fatalf("truncated content is not a proper prefix (len %d of %d)", len(user), len(long))
			}
			if got, _ := estimate(msgs); got+500 > 7968 || got+500 < 7900 {
				t.Errorf("truncated prompt + max_tokens = %d tokens, want just under 7968", got+500)
			}
		})
	}
}

func TestFirstTokens(t *testing.T) {
	tests := []struct {
		name string
		s    string
		n    int
	}{
		{"ascii", "hello world, how are you", 3},
		{"multibyte", "naïve café résumé über", 4},
		{"all", "short", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := firstTokens(tt.s, tt.n)
			if !strings.HasPrefix(tt.s, got) || !utf8Valid(got) {
				t.Fatalf("firstTokens = %q", got)
			}
			if c := tokens.Count(got); c > tt.n {
				t.Errorf("prefix has %d tokens, want ≤ %d", c, tt.n)
			}
		})
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestDeterministic(t *testing.T) {
	tests := []struct {
		params map[string]any
		want   bool
	}{
		{nil, false},
		{map[string]any{"temperature": 0}, true},
		{map[string]any{"temperature": 0.0}, true},
		{map[string]any{"temperature": 0.7}, false},
		{map[string]any{"seed": 1}, false},
	}
	for _, tt := range tests {
		if got := (&generator{}).Deterministic(&steps.Call{Params: tt.params}); got != tt.want {
			t.Errorf("Deterministic(%v) = %v, want %v", tt.params, got, tt.want)
		}
	}
}

func yamlValue(t *testing.T, src string) *spec.Value {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return &spec.Value{Node: doc.Content[0], Path: "steps.g.tools", Pos: spec.Pos{File: "f.yaml", Line: 4}}
}

func TestTools(t *testing.T) {
	st, diags := Kind.New(&spec.Step{ID: "g", Prompt: &spec.Prompt{}, Tools: yamlValue(t, `
- name: get_weather
  description: Weather for a city
  parameters: {type: object, required: [city], properties: {city: {type: string, description: City}}}
- name: now
  description: Current time
`)})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	gen := answers(providers.GenerateResponse{FinishReason: "tool_calls", ToolCalls: []providers.ToolCall{{Name: "get_weather", Arguments: []byte(`{"city":"Lisbon"}`)}}})
	call := newCall(steptest.Model(gen, "m"), &steptest.Env{}, &steps.Prompt{User: "Weather in Lisbon?"})
	call.OutputSchema = map[string]any{"type": "object", "required": []any{"answer"}}
	res, err := st.Run(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	wantCalls := []any{map[string]any{"id": "", "name": "get_weather", "arguments": map[string]any{"city": "Lisbon"}}}
	if d := cmp.Diff(wantCalls, res.Output["tool_calls"]); d != "" {
		t.Errorf("tool_calls (-want +got):\n%s", d)
	}
	wantTools := []providers.ToolSpec{
		{Name: "get_weather", Description: "Weather for a city", Parameters: map[string]any{"type": "object", "required": []any{"city"},
			"properties": map[string]any{"city": map[string]any{"type": "string", "description": "City"}}}},
		{Name: "now", Description: "Current time", Parameters: map[string]any{"type": "object", "properties": map[string]any{}}},
	}
	if d := cmp.Diff(wantTools, gen.Requests()[0].Tools); d != "" {
		t.Errorf("tools (-want +got):\n%s", d)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name  string
		step  func(t *testing.T) *spec.Step
		wants []string
	}{
		{"no prompt", func(*testing.T) *spec.Step { return &spec.Step{ID: "g"} }, []string{"generate needs a prompt"}},
		{"tools not a list", func(t *testing.T) *spec.Step {
			return &spec.Step{ID: "g", Prompt: &spec.Prompt{}, Tools: yamlValue(t, "name: x")}
		}, []string{"tools must be a list of {name, description, parameters}"}},
		{"tool problems", func(t *testing.T) *spec.Step {
			return &spec.Step{ID: "g", Prompt: &spec.Prompt{}, Tools: yamlValue(t, "[{description: d}, {name: a}, {name: a}, {name: b, description: '${ vars.x }'}]")}
		}, []string{"a tool needs a name", `tool "a" is declared twice`, `tool "b": tools are static; expressions are not evaluated there`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Kind.New(tt.step(t))
			var got []string
			for _, d := range diags {
				got = append(got, d.Summary)
			}
			if d := cmp.Diff(tt.wants, got); d != "" {
				t.Errorf("diagnostics (-want +got):\n%s", d)
			}
		})
	}
}
