package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	_ "github.com/aiflow/aiflow/providers/anthropic"
	_ "github.com/aiflow/aiflow/providers/openai"
	"github.com/aiflow/aiflow/providers/wiretest"
	_ "github.com/aiflow/aiflow/providers/workersai"
	"github.com/aiflow/aiflow/spec"
	_ "github.com/aiflow/aiflow/steps/all"
)

// agentRun runs fl with a store that stays open for the test to read turns from.
func agentRun(t *testing.T, fl *engine.Flow, dir string, opts engine.RunOptions) (*engine.RunResult, *store.Store) {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opts.Store, opts.StateDir = st, dir
	res, err := fl.Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res, st
}

// fileFlow parses and compiles a flow file with the given environment.
func fileFlow(t *testing.T, path string, env map[string]string) *engine.Flow {
	t.Helper()
	f, diags := spec.ParseFile(path)
	if diags.HasErrors() {
		t.Fatalf("parse %s: %v", path, diags)
	}
	fl, diags := engine.Compile(f, engine.Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if diags.HasErrors() {
		t.Fatalf("compile %s: %v", path, diags)
	}
	return fl
}

// capitalFlow is an agent with one step tool; %s is the providers: entry and %s the model.
const capitalFlow = `
aiflow: 1
name: agent-wire
providers:
  p:
%s
steps:
  ask:
    uses: agent
    model: p:%s
    prompt:
      system: Use get_capital, then answer in one sentence.
      user: What is the capital of France?
    with: { max_turns: 3 }
    tools:
      - name: get_capital
        description: The capital city of a country.
        parameters:
          type: object
          required: [country]
          properties:
            country: { type: string, description: The country name in English. }
        step:
          uses: transform
          with:
            expr:
              country: ${ args.country }
              capital: '${ args.country == "France" ? "Paris" : "unknown" }'
          result: ${ output.value }
outputs:
  answer: ${ steps.ask.output.text }
  turns: ${ steps.ask.output.turns }
  calls: ${ steps.ask.output.tool_calls }
`

// capitalScript calls get_capital, then answers from the tool result it was sent.
func capitalScript(p wiretest.ChatPrompt) wiretest.ChatTurn {
	if res := p.ToolResults(); len(res) > 0 {
		return wiretest.ChatTurn{Text: "From the tool: " + res[0].Content}
	}
	return wiretest.ChatTurn{ToolCalls: []wiretest.ChatToolCall{{ID: "toolu_1", Name: "get_capital", Arguments: `{"country":"France"}`}}}
}

// cfCapital is capitalScript for the Workers AI emulator: id-less calls with object
// arguments, as Workers AI sends them.
func cfCapital(run wiretest.CFRun) (any, bool) {
	msgs, _ := run.Input["messages"].([]any)
	last, _ := msgs[len(msgs)-1].(map[string]any)
	if last["role"] == "tool" {
		return map[string]any{"response": "From the tool: " + fmt.Sprint(last["content"]), "tool_calls": []any{},
			"usage": map[string]any{"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38}}, true
	}
	call := map[string]any{"name": "get_capital", "arguments": map[string]any{"country": "France"}}
	return map[string]any{"response": "", "tool_calls": []any{call},
		"usage": map[string]any{"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26}}, true
}

// TestAgentWireFormats runs one tool round trip on each provider's emulator: the model
// calls a tool, gets its result in the provider's native form, and answers from it.
func TestAgentWireFormats(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) (entry, model string, env map[string]string, bodies func() []string)
	}{
		{"workers-ai", func(t *testing.T) (string, string, map[string]string, func() []string) {
			cf := wiretest.NewCloudflare(t)
			cf.SetResponder(cfCapital)
			entry := fmt.Sprintf("    kind: workers-ai\n    account_id: %s\n    api_token: ${ env(\"TOKEN\") }\n    base_url: %s", wiretest.CloudflareAccount, cf.APIBase())
			return entry, "@cf/meta/llama-3.3-70b-instruct-fp8-fast", map[string]string{"TOKEN": cf.Token()}, func() []string { return bodies(cf.Requests()) }
		}},
		{"openai", func(t *testing.T) (string, string, map[string]string, func() []string) {
			o := wiretest.NewOpenAI(t, wiretest.WithOpenAIScript(capitalScript))
			entry := fmt.Sprintf("    kind: openai\n    api_key: ${ env(\"TOKEN\") }\n    base_url: %s", o.URL())
			return entry, "gpt-4o-mini", map[string]string{"TOKEN": o.Key()}, func() []string { return bodies(o.Requests()) }
		}},
		{"anthropic", func(t *testing.T) (string, string, map[string]string, func() []string) {
			a := wiretest.NewAnthropic(t, wiretest.WithAnthropicScript(capitalScript))
			entry := fmt.Sprintf("    kind: anthropic\n    api_key: ${ env(\"TOKEN\") }\n    base_url: %s", a.URL())
			return entry, "claude-haiku-4-5", map[string]string{"TOKEN": a.Key()}, func() []string { return bodies(a.Requests()) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entry, model, env, sent := tt.setup(t)
			fl := e2eFlow(t, fmt.Sprintf(capitalFlow, entry, model), env)
			res, st := agentRun(t, fl, t.TempDir(), engine.RunOptions{})
			answer, _ := res.Outputs["answer"].(string)
			if !strings.Contains(answer, `"capital":"Paris"`) || res.Outputs["turns"] != 2.0 && res.Outputs["turns"] != 2 {
				t.Errorf("answer %q after %v turns, want the tool result after 2", answer, res.Outputs["turns"])
			}
			wantCalls := []any{map[string]any{"name": "get_capital", "arguments": map[string]any{"country": "France"}, "ok": true}}
			if d := cmp.Diff(wantCalls, res.Outputs["calls"]); d != "" {
				t.Errorf("tool_calls (-want +got):\n%s", d)
			}
			if b := sent(); len(b) != 2 || !strings.Contains(b[1], "Paris") || !strings.Contains(b[0], "get_capital") {
				t.Errorf("requests = %q, want the tool offered, then its result sent back", b)
			}
			checkTurns(t, st, res.RunID, "ask")
		})
	}
}

// checkTurns checks the recorded conversation of a one-tool round trip.
func checkTurns(t *testing.T, st *store.Store, runID, step string) {
	t.Helper()
	turns, err := st.Turns(context.Background(), runID, step)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tn := range turns {
		got = append(got, fmt.Sprintf("%d %s %s %s", tn.Index, tn.Role, tn.ToolName, tn.Arguments))
	}
	want := []string{"0 system  ", "1 user  ", "2 assistant  ", `3 assistant get_capital {"country":"France"}`, "4 tool get_capital ", "5 assistant  "}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("turns (-want +got):\n%s", d)
	}
	if !strings.Contains(turns[4].Content, "Paris") || !strings.HasPrefix(turns[5].Content, "From the tool:") || turns[5].Usage.OutputTokens == 0 {
		t.Errorf("tool result %q, answer %q with usage %+v", turns[4].Content, turns[5].Content, turns[5].Usage)
	}
	if turns[3].ToolCallID == "" || turns[3].ToolCallID != turns[4].ToolCallID {
		t.Errorf("tool call id %q, result id %q: want the same, non-empty", turns[3].ToolCallID, turns[4].ToolCallID)
	}
}

func bodies(rs []wiretest.Request) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Body))
	}
	return out
}

// TestAgentResearchExample runs examples/flows/agent-research.yaml against the Workers AI
// emulator, over the index examples/flows/rag-ingest.yaml builds. The scripted model
// searches, then asks the sub-flow tool for a summary of the best source while searching
// again (two calls in one turn), then answers citing the source.
func TestAgentResearchExample(t *testing.T) {
	dir := t.TempDir()
	e2eRun(t, fileFlow(t, "../examples/flows/rag-ingest.yaml", nil), dir, engine.RunOptions{})
	cf := wiretest.NewCloudflare(t)
	script := &researchScript{}
	cf.SetResponder(script.respond)
	env := map[string]string{"CLOUDFLARE_ACCOUNT_ID": wiretest.CloudflareAccount, "CLOUDFLARE_API_TOKEN": cf.Token()}
	fl := fileFlow(t, "../examples/flows/agent-research.yaml", env)
	res, st := agentRun(t, fl, dir, engine.RunOptions{Vars: map[string]any{"cf_api": cf.APIBase()}})
	answer, _ := res.Outputs["answer"].(string)
	t.Logf("answer: %s", answer)
	if !strings.Contains(answer, "[data/sourdough-baking.md]") || !strings.Contains(strings.ToLower(answer), "starter") {
		t.Errorf("answer = %q, want a summary about starters citing sourdough-baking.md", answer)
	}
	if d := cmp.Diff([]any{"search_docs", "search_docs", "summarize_source"}, res.Outputs["tools_used"]); d != "" {
		t.Errorf("tools used (-want +got):\n%s", d)
	}
	turns, err := st.Turns(context.Background(), res.RunID, "research")
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, tn := range turns {
		roles = append(roles, tn.Role+":"+tn.ToolName)
	}
	want := []string{"system:", "user:", "assistant:", "assistant:search_docs", "tool:search_docs",
		"assistant:", "assistant:search_docs", "assistant:summarize_source", "tool:search_docs", "tool:summarize_source", "assistant:"}
	if d := cmp.Diff(want, roles); d != "" {
		t.Errorf("recorded turns (-want +got):\n%s", d)
	}
	var args map[string]any
	if err := json.Unmarshal(turns[7].Arguments, &args); err != nil || args["source"] != "data/sourdough-baking.md" {
		t.Errorf("summarize_source arguments = %s (%v)", turns[7].Arguments, err)
	}
}

// researchScript plays the research model on the Workers AI emulator.
type researchScript struct {
	mu    sync.Mutex
	turns int
}

var bracketSource = regexp.MustCompile(`\[([^\[\]"]+\.md)\]`)

func (s *researchScript) respond(run wiretest.CFRun) (any, bool) {
	s.mu.Lock()
	s.turns++
	turn := s.turns
	s.mu.Unlock()
	msgs, _ := run.Input["messages"].([]any)
	var results []string
	for _, m := range msgs {
		if mm, _ := m.(map[string]any); mm["role"] == "tool" {
			results = append(results, fmt.Sprint(mm["content"]))
		}
	}
	usage := map[string]any{"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
	switch turn {
	case 1:
		return cfCalls(usage, cfToolCall("search_docs", map[string]any{"query": "sourdough starter feeding"})), true
	case 2:
		src := "none"
		if m := bracketSource.FindStringSubmatch(results[0]); m != nil {
			src = m[1]
		}
		return cfCalls(usage, cfToolCall("search_docs", map[string]any{"query": "starter ready float test", "top_k": 2}),
			cfToolCall("summarize_source", map[string]any{"source": src, "focus": "keeping a starter healthy"})), true
	}
	var summary struct{ Source, Summary string }
	json.Unmarshal([]byte(results[len(results)-1]), &summary)
	return map[string]any{"response": summary.Summary + " [" + summary.Source + "]", "tool_calls": []any{}, "usage": usage}, true
}

func cfToolCall(name string, args map[string]any) any {
	return map[string]any{"name": name, "arguments": args}
}

func cfCalls(usage map[string]any, calls ...any) map[string]any {
	return map[string]any{"response": "", "tool_calls": calls, "usage": usage}
}

// TestSubflowStep runs a flow step: vars in, outputs back, defaults for vars left out,
// and a failing sub-flow failing the step.
func TestSubflowStep(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("greet.yaml", `
aiflow: 1
name: greet
vars:
  name: { type: string }
  times: { type: integer, default: 1 }
steps:
  say:
    uses: transform
    with:
      expr: ${ repeat("hi " + vars.name + "! ", vars.times) }
outputs:
  text: ${ trim(steps.say.output.value) }
  times: ${ vars.times }
`)
	write("parent.yaml", `
aiflow: 1
name: parent
steps:
  twice:
    uses: flow
    with:
      path: ./greet.yaml
      vars: { name: Ada, times: 2 }
  once:
    uses: flow
    with:
      path: greet.yaml
      vars: { name: "${ steps.twice.output.outputs.times > 1 ? 'Bob' : 'nobody' }" }
outputs:
  twice: ${ steps.twice.output.outputs.text }
  once: ${ steps.once.output.outputs }
`)
	res, _ := agentRun(t, fileFlow(t, filepath.Join(dir, "parent.yaml"), nil), dir, engine.RunOptions{})
	want := map[string]any{"twice": "hi Ada! hi Ada!", "once": map[string]any{"text": "hi Bob!", "times": 1}}
	got := map[string]any{"twice": res.Outputs["twice"], "once": res.Outputs["once"]}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return a == b }), numbersEqual); d != "" {
		t.Errorf("outputs (-want +got):\n%s", d)
	}

	write("bad-parent.yaml", `
aiflow: 1
name: bad-parent
steps:
  missing:
    uses: flow
    with: { path: ./greet.yaml, vars: { times: 3 } }
`)
	st, err := store.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = fileFlow(t, filepath.Join(dir, "bad-parent.yaml"), nil).Run(context.Background(), engine.RunOptions{Store: st, StateDir: dir})
	if err == nil || !strings.Contains(err.Error(), "sub-flow ./greet.yaml") || !strings.Contains(err.Error(), "name") {
		t.Errorf("error = %v, want the sub-flow's missing var named", err)
	}
}

// numbersEqual compares JSON-ish numbers across int and float64.
var numbersEqual = cmp.FilterValues(func(a, b any) bool { return isNumber(a) && isNumber(b) }, cmp.Comparer(func(a, b any) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}))

func isNumber(v any) bool {
	switch v.(type) {
	case int, float64:
		return true
	}
	return false
}

// schemaScript calls get_capital, then gives the final answer as JSON: as text on
// OpenAI (response_format), by calling the offered tool that is not get_capital on
// Anthropic (the provider's JSON tool).
func schemaScript(p wiretest.ChatPrompt) wiretest.ChatTurn {
	res := p.ToolResults()
	if len(res) == 0 {
		return wiretest.ChatTurn{ToolCalls: []wiretest.ChatToolCall{{ID: "toolu_1", Name: "get_capital", Arguments: `{"country":"France"}`}}}
	}
	var got struct{ Capital string }
	json.Unmarshal([]byte(res[0].Content), &got)
	answer := fmt.Sprintf(`{"capital":%q,"sources":["get_capital"]}`, got.Capital)
	for _, tool := range p.Tools {
		if tool.Name != "get_capital" {
			return wiretest.ChatTurn{ToolCalls: []wiretest.ChatToolCall{{ID: "toolu_2", Name: tool.Name, Arguments: answer}}}
		}
	}
	return wiretest.ChatTurn{Text: answer}
}

// TestAgentStructuredOutput asks an agent for JSON matching output.schema while it
// also has tools, on the providers whose JSON mode composes with tool calling.
func TestAgentStructuredOutput(t *testing.T) {
	tests := []struct {
		name  string
		entry func(t *testing.T) (string, string, map[string]string)
	}{
		{"openai", func(t *testing.T) (string, string, map[string]string) {
			o := wiretest.NewOpenAI(t, wiretest.WithOpenAIScript(schemaScript))
			return fmt.Sprintf("    kind: openai\n    api_key: ${ env(\"TOKEN\") }\n    base_url: %s", o.URL()), "gpt-4o-mini", map[string]string{"TOKEN": o.Key()}
		}},
		{"anthropic", func(t *testing.T) (string, string, map[string]string) {
			a := wiretest.NewAnthropic(t, wiretest.WithAnthropicScript(schemaScript))
			return fmt.Sprintf("    kind: anthropic\n    api_key: ${ env(\"TOKEN\") }\n    base_url: %s", a.URL()), "claude-haiku-4-5", map[string]string{"TOKEN": a.Key()}
		}},
	}
	schema := `
    output:
      schema:
        type: object
        required: [capital, sources]
        properties:
          capital: { type: string }
          sources: { type: array, items: { type: string } }
`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entry, model, env := tt.entry(t)
			src := strings.Replace(fmt.Sprintf(capitalFlow, entry, model), "    with: { max_turns: 3 }\n", "    with: { max_turns: 3 }"+schema, 1)
			src = strings.Replace(src, "  answer: ${ steps.ask.output.text }", "  answer: ${ steps.ask.output.json }", 1)
			res, _ := agentRun(t, e2eFlow(t, src, env), t.TempDir(), engine.RunOptions{})
			want := map[string]any{"capital": "Paris", "sources": []any{"get_capital"}}
			if d := cmp.Diff(want, res.Outputs["answer"]); d != "" {
				t.Errorf("json (-want +got):\n%s", d)
			}
		})
	}
}
