package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/capability"
)

func init() { steps.MustRegister(Kind) }

// Defaults of the limits under with:.
const (
	DefaultMaxTurns    = 8
	DefaultToolRetries = 2
	// MaxParallelTools bounds how many tool calls of one turn run at once.
	MaxParallelTools = 4
	// MaxRepairs bounds how many final answers that fail output.schema are sent back.
	MaxRepairs = 2
)

// Values of with.on_limit and output.stopped.
const (
	OnLimitFail   = "fail"
	OnLimitReturn = "return"

	StoppedAnswer    = "answer"
	StoppedMaxTurns  = "max_turns"
	StoppedMaxTokens = "max_tokens"
	StoppedBudget    = "budget"
)

// Kind describes the agent step to the registry.
var Kind = steps.Kind{
	Name:    "agent",
	Summary: "Let a chat model call tools (steps, flows, HTTP endpoints, MCP servers) until it answers.",
	Task:    providers.TaskGenerate,
	Inputs: []steps.Field{
		{Name: "max_turns", Type: steps.Int, Default: DefaultMaxTurns, Doc: "Most model calls the step makes (each answer to tool results is one)."},
		{Name: "max_tokens", Type: steps.Int, Default: 0, Doc: "Most output tokens over all turns; 0 for no limit. Each call's params.max_tokens is lowered to what is left."},
		{Name: "budget_usd", Type: steps.Number, Default: 0.0, Doc: "Most USD the step may spend on its model calls and step tools; 0 for no limit."},
		{Name: "parallel_tools", Type: steps.Bool, Default: true, Doc: fmt.Sprintf("Run the tool calls of one turn concurrently (at most %d at once); results keep the calls' order.", MaxParallelTools)},
		{Name: "tool_retries", Type: steps.Int, Default: DefaultToolRetries, Doc: "How many calls with arguments that fail the tool's schema (or name no tool) are returned to the model as tool errors; one more fails the step."},
		{Name: "on_limit", Type: steps.String, Default: OnLimitFail, Enum: []string{OnLimitFail, OnLimitReturn},
			Doc: "What hitting max_turns, max_tokens or budget_usd does: fail the step, or return the last answer with output.stopped set."},
	},
	Outputs: []steps.Field{
		{Name: "text", Type: steps.String, Doc: "The final answer (the JSON text with output.schema); with on_limit: return, the last text the model wrote."},
		{Name: "json", Type: steps.Any, Doc: "The final answer parsed and validated when output.schema is set; else null."},
		{Name: "turns", Type: steps.Int, Doc: "How many model calls were made."},
		{Name: "tool_calls", Type: steps.List, Doc: "Every tool call in order: {name, arguments, ok}."},
		{Name: "usage", Type: steps.Object, Doc: "{input_tokens, output_tokens, usd} of the model calls, summed over turns."},
		{Name: "stopped", Type: steps.String, Enum: []string{StoppedAnswer, StoppedMaxTurns, StoppedMaxTokens, StoppedBudget}, Doc: "Why the loop ended: answer, max_turns, max_tokens or budget."},
		{Name: "model", Type: steps.String, Doc: "provider:model-id of the model that answered."},
	},
	Params:        steps.GenerateParams,
	Keys:          []string{"model", "route", "prompt", "params", "output", "tools"},
	Version:       "1",
	Deterministic: false,
	New:           newAgent,
}

// agent is a configured agent step. It keeps no state between runs: MCP servers are
// started by each Run and stopped before it returns.
type agent struct {
	tools []*decl
}

var _ steps.Step = (*agent)(nil)

func newAgent(s *spec.Step) (steps.Step, spec.Diagnostics) {
	var diags spec.Diagnostics
	if s.Prompt == nil {
		diags.Errorf(s.Pos, "steps."+s.ID+".prompt", "an agent needs a prompt")
		diags[len(diags)-1].Detail = "give the task as prompt: {system: …, user: …}; the system prompt says how to use the tools"
	}
	dir := ""
	if s.Pos.File != "" {
		dir = filepath.Dir(s.Pos.File)
	}
	tools, d := decodeTools(s.Tools, dir)
	diags = append(diags, d...)
	if s.Tools == nil {
		diags.Warnf(s.Pos, "steps."+s.ID+".tools", "the agent has no tools; a generate step does the same")
	}
	diags = append(diags, checkLimits(s)...)
	return &agent{tools: tools}, diags
}

var _ steps.ModelChecker = (*agent)(nil)

// CheckModel applies the tool rules of the provider serving the agent. Workers AI's
// function-calling models (the Llama 3.x schemas in cloudflare/cloudflare-docs,
// src/content/workers-ai-models/llama-3.3-70b-instruct-fp8-fast.json: tools[].parameters
// .properties.additionalProperties requires "type" and "description", type a string)
// refuse a tool whose parameter lacks either. OpenAI and Anthropic take any JSON Schema
// there, so other kinds pass. MCP tools are known only at run time.
func (a *agent) CheckModel(providerKind, _ string) spec.Diagnostics {
	if providerKind != "workers-ai" {
		return nil
	}
	var d spec.Diagnostics
	for _, t := range a.tools {
		for _, lp := range t.loose {
			lp.at.errorf(&d, "tool %q: parameter %q needs %s for Workers AI", t.spec.Name, lp.name, strings.Join(lp.missing, " and "))
			d[len(d)-1].Detail = "Workers AI requires every property of a tool's parameters to have a type (one name, e.g. string) and a description, e.g. " + lp.name + ": {type: string, description: what the model should pass}"
		}
	}
	return d
}

// checkLimits checks literal limits under with:.
func checkLimits(s *spec.Step) spec.Diagnostics {
	var d spec.Diagnostics
	for _, c := range []struct {
		key string
		min float64
	}{{"max_turns", 1}, {"max_tokens", 0}, {"budget_usd", 0}, {"tool_retries", 0}} {
		set := s.Input(c.key)
		if set == nil || set.Value.HasExpr() {
			continue
		}
		if n, ok := spec.NodeToAny(set.Value.Node).(int); ok && float64(n) < c.min {
			d.Errorf(set.Value.Pos, set.Value.Path, "%s must be at least %v, got %d", c.key, c.min, n)
		}
		if n, ok := spec.NodeToAny(set.Value.Node).(float64); ok && n < c.min {
			d.Errorf(set.Value.Pos, set.Value.Path, "%s must be at least %v, got %v", c.key, c.min, n)
		}
	}
	return d
}

// Run converses with the model, running the tools it calls, until it answers or a
// limit stops it.
func (a *agent) Run(ctx context.Context, call *steps.Call) (res steps.Result, err error) {
	gen, err := capability.Of[providers.Generator](call.Model, providers.TaskGenerate)
	if err != nil {
		return steps.Result{}, err
	}
	s, err := newSession(call, gen)
	if err != nil {
		return steps.Result{}, err
	}
	tools, err := openTools(ctx, a.tools, call.Env)
	if err != nil {
		return steps.Result{}, err
	}
	defer func() {
		if cerr := tools.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	s.tools = tools
	return s.run(ctx)
}
