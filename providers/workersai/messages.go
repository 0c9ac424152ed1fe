package workersai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
)

// wireMessages converts chat turns to the messages form Cloudflare's own client sends
// (cloudflare/ai workers-ai-provider convert-to-workersai-chat-messages.ts) on both
// endpoints: string content ("" for an assistant turn that only calls tools), tool calls
// as {id, type:"function", function:{name, arguments:"<json>"}}, and tool turns with
// name and tool_call_id. A tool turn that does not name its tool takes the name of the
// call it answers.
func wireMessages(msgs []providers.Message) ([]map[string]any, error) {
	if len(msgs) == 0 {
		return nil, invalid("", "no messages")
	}
	out := make([]map[string]any, 0, len(msgs))
	names := map[string]string{} // tool name by call id
	for i, m := range msgs {
		switch m.Role {
		case "system", "user", "assistant", "tool":
		default:
			return nil, invalid("", fmt.Sprintf("message %d: role %q (want system, user, assistant or tool)", i, m.Role))
		}
		w := map[string]any{"role": m.Role, "content": m.Content}
		if m.Role == "tool" {
			if m.IsError {
				w["content"] = "Error: " + m.Content
			}
			if m.ToolCallID != "" {
				w["tool_call_id"] = m.ToolCallID
			}
			name := m.Name
			if name == "" {
				name = names[m.ToolCallID]
			}
			if name != "" {
				w["name"] = name
			}
		}
		if len(m.ToolCalls) > 0 {
			calls, err := wireCalls(m.ToolCalls)
			if err != nil {
				return nil, invalid("", fmt.Sprintf("message %d: %v", i, err))
			}
			w["tool_calls"] = calls
			for _, c := range m.ToolCalls {
				names[c.ID] = c.Name
			}
		}
		out = append(out, w)
	}
	return out, nil
}

// wireCalls renders an assistant turn's tool calls in the OpenAI shape, arguments as a
// JSON string, which is what Workers AI's own client replays.
func wireCalls(calls []providers.ToolCall) ([]any, error) {
	out := make([]any, 0, len(calls))
	for _, c := range calls {
		args := bytes.TrimSpace(c.Arguments)
		if len(args) == 0 {
			args = []byte("{}")
		}
		if !json.Valid(args) {
			return nil, fmt.Errorf("tool call %s: arguments are not JSON", c.Name)
		}
		out = append(out, map[string]any{"id": c.ID, "type": "function",
			"function": map[string]any{"name": c.Name, "arguments": string(args)}})
	}
	return out, nil
}

// wireTools renders tool specs in the Workers AI form (name, description, parameters).
func wireTools(tools []providers.ToolSpec, openAI bool) []any {
	out := make([]any, 0, len(tools))
	for _, t := range tools {
		params := t.Parameters
		if params == nil {
			params = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		fn := map[string]any{"name": t.Name, "description": t.Description, "parameters": params}
		if openAI {
			out = append(out, map[string]any{"type": "function", "function": fn})
			continue
		}
		out = append(out, fn)
	}
	return out
}

// paramSpec is one supported generation parameter.
type paramSpec struct {
	integer bool
	openAI  bool // also accepted by the OpenAI-compatible endpoint
}

var params = map[string]paramSpec{
	"max_tokens":         {integer: true, openAI: true},
	"temperature":        {openAI: true},
	"top_p":              {openAI: true},
	"top_k":              {integer: true},
	"seed":               {integer: true, openAI: true},
	"repetition_penalty": {},
	"frequency_penalty":  {openAI: true},
	"presence_penalty":   {openAI: true},
}

// applyParams copies the step's params into body, checking names and types. max_tokens
// is always sent (default: the provider's max_tokens setting); it is returned.
func applyParams(body map[string]any, in map[string]any, def int, openAI bool) (int, error) {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	maxTokens := def
	for _, k := range keys {
		spec, ok := params[k]
		if !ok || (openAI && !spec.openAI) {
			return 0, invalid("", fmt.Sprintf("param %s is not supported (workers-ai accepts %s)", k, supportedParams(openAI)))
		}
		n, ok := number(in[k])
		if !ok || (spec.integer && n != math.Trunc(n)) {
			return 0, invalid("", fmt.Sprintf("param %s: want a number, got %v", k, in[k]))
		}
		if spec.integer {
			body[k] = int64(n)
		} else {
			body[k] = n
		}
		if k == "max_tokens" {
			maxTokens = int(n)
		}
	}
	body["max_tokens"] = maxTokens
	return maxTokens, nil
}

func supportedParams(openAI bool) string {
	var names []string
	for k, s := range params {
		if !openAI || s.openAI {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// checkPublished checks request parameters computed at run time against the model's
// published input schema (validate checks literal ones): what the API would refuse is
// refused before it is sent, naming what the schema accepts.
func checkPublished(model string, ps *catalog.Params, in map[string]any, what string) error {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !ps.Has(k) {
			return invalid(model, fmt.Sprintf("%s %s is not in the published input schema of %s (it has %s)", what, k, model, strings.Join(ps.Names(), ", ")))
		}
		if err := ps.Check(k, in[k]); err != nil {
			return invalid(model, fmt.Sprintf("%s %s: %v", what, k, err))
		}
	}
	return nil
}

// invalid is a request aiflow refuses to send.
func invalid(model, msg string) *providers.Error {
	return &providers.Error{Provider: Kind, Model: model, Message: msg}
}

// withModel names the model on a *providers.Error inside err.
func withModel(err error, model string) error {
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Model == "" {
		pe.Model = model
	}
	return err
}
