// Package generate implements the "generate" step kind: chat or text generation with
// streaming, JSON-schema output and tools.
//
// The step builds the messages from its prompt (system, then messages, then user), passes
// params: through to the provider unchanged, and streams text deltas to the run's hooks as
// token events. Before sending, it estimates the prompt's size with the cl100k_base
// tokenizer and compares it with the model's context window from the catalogue (models
// the catalogue does not know are not checked); with `with: {truncate: true}` it cuts the
// longest user content to fit instead of failing.
//
// With output.schema, the provider is asked for JSON and the answer is validated against
// the schema. An invalid answer is sent back to the model with the validation error, at
// most MaxRepairs times; after that the step fails. Repaired turns stream again.
//
// Caching: the step is deterministic only when params.temperature is 0. Without a
// temperature the provider samples at its default temperature, so the result is not
// cached by default (set cache: on the step to cache it anyway).
package generate

import (
	"context"
	"fmt"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/capability"
	"github.com/aiflow/aiflow/steps/internal/chat"
)

func init() { steps.MustRegister(Kind) }

// MaxRepairs bounds how many times an answer that fails output.schema is sent back to
// the model for another attempt.
const MaxRepairs = 2

// Kind describes the generate step to the registry.
var Kind = steps.Kind{
	Name:    "generate",
	Summary: "Generate text (or JSON matching a schema) with a chat model; streams tokens.",
	Task:    providers.TaskGenerate,
	Inputs: []steps.Field{
		{Name: "truncate", Type: steps.Bool, Default: false, Doc: "Cut the longest user content to fit the model's context window instead of failing."},
		visionInput,
	},
	Outputs: []steps.Field{
		{Name: "text", Type: steps.String, Doc: "The generated text (the JSON text with output.schema)."},
		{Name: "json", Type: steps.Any, Doc: "The parsed JSON value when output.schema is set, validated against it; else null."},
		{Name: "usage", Type: steps.Object, Doc: "{input_tokens, output_tokens}, summed over repair turns."},
		{Name: "model", Type: steps.String, Doc: "provider:model-id of the model that answered."},
		{Name: "finish_reason", Type: steps.String, Doc: "Why generation stopped, as the provider says it (stop, length, tool_calls…)."},
		{Name: "tool_calls", Type: steps.List, Doc: "Tools the model asked to call: {id, name, arguments}; empty without tools."},
	},
	Params:        steps.GenerateParams,
	Keys:          []string{"model", "route", "prompt", "params", "output", "tools", "batch"},
	Version:       "1",
	Deterministic: false,
	New:           newGenerator,
}

type generator struct {
	tools  []providers.ToolSpec
	images *spec.Value // with.images, checked against the models in CheckModel
}

var _ steps.Step = (*generator)(nil)

func newGenerator(s *spec.Step) (steps.Step, spec.Diagnostics) {
	var diags spec.Diagnostics
	if s.Prompt == nil {
		diags.Errorf(s.Pos, "steps."+s.ID+".prompt", "generate needs a prompt")
		diags[len(diags)-1].Detail = "write prompt: {system: …, user: …}, prompt: {messages: [...]} or prompt: {file: prompts/x.md}"
	}
	tools, d := decodeTools(s.Tools)
	diags = append(diags, d...)
	if s.Batch > 0 && !s.BatchAsync {
		diags.Errorf(s.Keys["batch"], "steps."+s.ID+".batch", "generate sends one conversation per call: batch needs async")
		diags[len(diags)-1].Detail = "write batch: {size: N, async: true} to send the items through the provider's asynchronous batch API"
	}
	if s.BatchAsync && len(tools) > 0 {
		diags.Errorf(s.Keys["batch"], "steps."+s.ID+".batch", "tools cannot go through an asynchronous batch")
		diags[len(diags)-1].Detail = "a tool call needs another turn; remove tools: or batch:"
	}
	g := &generator{tools: tools}
	if set := s.Input("images"); set != nil {
		g.images = set.Value
		if s.BatchAsync {
			diags.Errorf(set.Value.Pos, set.Value.Path, "images cannot go through an asynchronous batch")
			diags[len(diags)-1].Detail = "the batch files carry text turns only; remove images: or batch:"
		}
	}
	return g, diags
}

// Deterministic reports whether the call samples: only params.temperature 0 is greedy.
func (g *generator) Deterministic(call *steps.Call) bool {
	switch t := call.Params["temperature"].(type) {
	case int:
		return t == 0
	case float64:
		return t == 0
	}
	return false
}

// Run generates, repairing schema-invalid JSON up to MaxRepairs times.
func (g *generator) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	gen, err := capability.Of[providers.Generator](call.Model, providers.TaskGenerate)
	if err != nil {
		return steps.Result{}, err
	}
	msgs, err := messages(call.Prompt)
	if err != nil {
		return steps.Result{}, err
	}
	if msgs, err = attachImages(call, msgs); err != nil {
		return steps.Result{}, err
	}
	truncate, _ := call.Inputs["truncate"].(bool)
	if msgs, err = fitWindow(call.Model, msgs, call.Params, truncate); err != nil {
		return steps.Result{}, err
	}
	var check *validator
	if call.OutputSchema != nil {
		if check, err = compileSchema(call.OutputSchema); err != nil {
			return steps.Result{}, err
		}
	}
	req := providers.GenerateRequest{Model: call.Model.ID, Messages: msgs, Params: call.Params, JSONSchema: call.OutputSchema,
		Tools: g.tools, Gateway: call.Model.Gateway, Stream: chat.Streamer(call.Env)}
	return g.converse(ctx, gen, call.Model, req, check)
}

// converse sends the request and, with a schema, feeds validation errors back.
func (g *generator) converse(ctx context.Context, gen providers.Generator, m *steps.Model, req providers.GenerateRequest, check *validator) (steps.Result, error) {
	var usage providers.Usage
	meta := providers.Meta{}
	for attempt := 0; ; attempt++ {
		resp, err := gen.Generate(ctx, req)
		if err != nil {
			// Earlier turns were paid for: the engine counts Usage returned with an error.
			return steps.Result{Usage: usage, ModelRef: m.Ref()}, fmt.Errorf("generating with %s: %w", m.Ref(), err)
		}
		usage = usage.Add(resp.Usage)
		for k, v := range resp.Meta {
			meta[k] = v
		}
		if check == nil || len(resp.ToolCalls) > 0 {
			return result(m, resp, nil, usage, meta), nil
		}
		val, text, verr := check.answer(resp)
		if verr == nil {
			resp.Text = text
			return result(m, resp, val, usage, meta), nil
		}
		if attempt == MaxRepairs {
			return steps.Result{Usage: usage, ModelRef: m.Ref()}, fmt.Errorf("model %s answered %d times without JSON matching output.schema; last problem: %w", m.Ref(), attempt+1, verr)
		}
		req.Messages = append(append([]providers.Message(nil), req.Messages...),
			providers.Message{Role: "assistant", Content: resp.Text},
			providers.Message{Role: "user", Content: repairPrompt(verr)})
	}
}

func result(m *steps.Model, resp providers.GenerateResponse, val any, usage providers.Usage, meta providers.Meta) steps.Result {
	calls := make([]any, len(resp.ToolCalls))
	for i, tc := range resp.ToolCalls {
		calls[i] = map[string]any{"id": tc.ID, "name": tc.Name, "arguments": toolArgs(tc.Arguments)}
	}
	out := map[string]any{
		"text":          resp.Text,
		"json":          val,
		"usage":         map[string]any{"input_tokens": usage.InputTokens, "output_tokens": usage.OutputTokens},
		"model":         m.Ref(),
		"finish_reason": resp.FinishReason,
		"tool_calls":    calls,
	}
	if len(meta) == 0 {
		meta = nil
	}
	return steps.Result{Output: out, Usage: usage, Meta: meta, ModelRef: m.Ref()}
}
