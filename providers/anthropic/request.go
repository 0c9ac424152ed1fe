package anthropic

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	sdk "github.com/anthropics/anthropic-sdk-go"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/internal/setting"
)

// jsonTool is the tool the model is made to call when a step asks for JSON output: its
// input is the answer. Anthropic validates tool input against input_schema, which makes
// a forced tool the most reliable JSON mode.
const jsonTool = "json_output"

// wrapKey holds a non-object JSON schema's value inside the jsonTool's object input.
const wrapKey = "value"

var toolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Step params this provider sends, and params of other providers that a route may
// share with this one, dropped silently.
var (
	supportedParams = []string{"max_tokens", "temperature", "top_p", "top_k", "stop"}
	ignoredParams   = map[string]bool{"seed": true, "presence_penalty": true, "frequency_penalty": true,
		"repetition_penalty": true}
)

// plan is a built request plus what is needed to read its answer.
type plan struct {
	params  sdk.MessageNewParams
	json    bool // the answer comes as the jsonTool's input
	wrapped bool // that input wraps a non-object schema under wrapKey
}

// buildPlan turns a GenerateRequest into Messages params.
func (p *Provider) buildPlan(req providers.GenerateRequest) (plan, error) {
	pl := plan{params: sdk.MessageNewParams{Model: sdk.Model(req.Model), MaxTokens: int64(p.cfg.maxTokens)}}
	if req.Model == "" {
		return pl, fmt.Errorf("no model given")
	}
	system, msgs, err := messages(req.Messages)
	if err != nil {
		return pl, err
	}
	pl.params.Messages = msgs
	if system != "" {
		pl.params.System = []sdk.TextBlockParam{{Text: system}}
	}
	if err := pl.tools(req); err != nil {
		return pl, err
	}
	return pl, applyParams(&pl.params, req.Params)
}

// tools adds the step's tools and, for JSON output, the forced jsonTool: alone it is
// forced by name; next to other tools the model must call one of them (tool_choice any).
func (pl *plan) tools(req providers.GenerateRequest) error {
	var tools []sdk.ToolUnionParam
	if req.JSONSchema != nil {
		schema := req.JSONSchema
		if schema["type"] != "object" {
			pl.wrapped = true
			schema = map[string]any{"type": "object", "properties": map[string]any{wrapKey: schema}, "required": []any{wrapKey}}
		}
		tool, _ := toolParam(jsonTool, "Give the final answer as JSON matching this schema.", schema)
		tools = append(tools, tool)
		pl.json = true
	}
	for _, t := range req.Tools {
		if t.Name == jsonTool && pl.json {
			return fmt.Errorf("tool %q: the name is reserved for JSON output", t.Name)
		}
		tool, err := toolParam(t.Name, t.Description, t.Parameters)
		if err != nil {
			return err
		}
		tools = append(tools, tool)
	}
	pl.params.Tools = tools
	switch {
	case pl.json && len(req.Tools) == 0:
		pl.params.ToolChoice = sdk.ToolChoiceUnionParam{OfTool: &sdk.ToolChoiceToolParam{Name: jsonTool}}
	case pl.json:
		pl.params.ToolChoice = sdk.ToolChoiceUnionParam{OfAny: &sdk.ToolChoiceAnyParam{}}
	}
	return nil
}

// toolParam maps a JSON Schema object onto input_schema: properties and required get
// their fields, every other keyword travels as an extra field.
func toolParam(name, desc string, schema map[string]any) (sdk.ToolUnionParam, error) {
	if !toolName.MatchString(name) {
		return sdk.ToolUnionParam{}, fmt.Errorf("tool %q: names may use only letters, digits, _ and - (at most 64)", name)
	}
	if t, ok := schema["type"]; ok && t != "object" {
		return sdk.ToolUnionParam{}, fmt.Errorf("tool %s: parameters must be a JSON Schema of type object, got %v", name, t)
	}
	in := sdk.ToolInputSchemaParam{Properties: schema["properties"], ExtraFields: map[string]any{}}
	if in.Properties == nil {
		in.Properties = map[string]any{}
	}
	for k, v := range schema {
		switch k {
		case "type", "properties":
		case "required":
			req, err := stringList(v)
			if err != nil {
				return sdk.ToolUnionParam{}, fmt.Errorf("tool %s: required: %w", name, err)
			}
			in.Required = req
		default:
			in.ExtraFields[k] = v
		}
	}
	tool := sdk.ToolParam{Name: name, InputSchema: in}
	if desc != "" {
		tool.Description = sdk.String(desc)
	}
	return sdk.ToolUnionParam{OfTool: &tool}, nil
}

func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case []string:
		return x, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, s := range x {
			str, ok := s.(string)
			if !ok {
				return nil, fmt.Errorf("want strings, got %T", s)
			}
			out = append(out, str)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of strings, got %T", v)
}

// messages lifts system turns into the top-level system prompt, turns tool results into
// user tool_result blocks and merges consecutive same-role turns.
func messages(msgs []providers.Message) (string, []sdk.MessageParam, error) {
	if len(msgs) == 0 {
		return "", nil, fmt.Errorf("no messages given")
	}
	var system []string
	var out []sdk.MessageParam
	for i, m := range msgs {
		role, blocks, err := blocksOf(i, m)
		if err != nil {
			return "", nil, err
		}
		if m.Role == "system" {
			system = append(system, m.Content)
			continue
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Content = append(out[n-1].Content, blocks...)
			continue
		}
		out = append(out, sdk.MessageParam{Role: role, Content: blocks})
	}
	for i, m := range out {
		if len(m.Content) == 0 {
			return "", nil, fmt.Errorf("turn %d (%s) has no content", i, m.Role)
		}
	}
	if len(out) == 0 {
		return "", nil, fmt.Errorf("no user message given, only system prompts")
	}
	return strings.Join(system, "\n\n"), out, nil
}

// blocksOf converts one turn into the role and content blocks it contributes.
func blocksOf(i int, m providers.Message) (sdk.MessageParamRole, []sdk.ContentBlockParamUnion, error) {
	var blocks []sdk.ContentBlockParamUnion
	if m.Content != "" && m.Role != "tool" {
		blocks = append(blocks, sdk.NewTextBlock(m.Content))
	}
	// Vision: each image as a base64 image block after the text.
	for _, img := range m.Images {
		blocks = append(blocks, sdk.NewImageBlockBase64(img.MediaType, base64.StdEncoding.EncodeToString(img.Data)))
	}
	switch m.Role {
	case "system", "user":
		return sdk.MessageParamRoleUser, blocks, nil
	case "assistant":
		for _, tc := range m.ToolCalls {
			input, err := toolInput(tc)
			if err != nil {
				return "", nil, fmt.Errorf("message %d: %w", i, err)
			}
			blocks = append(blocks, sdk.NewToolUseBlock(tc.ID, input, tc.Name))
		}
		return sdk.MessageParamRoleAssistant, blocks, nil
	case "tool":
		if m.ToolCallID == "" {
			return "", nil, fmt.Errorf("message %d: a tool turn needs the tool_call_id it answers", i)
		}
		result := sdk.ToolResultBlockParam{ToolUseID: m.ToolCallID, IsError: sdk.Bool(m.IsError)}
		if m.Content != "" {
			result.Content = []sdk.ToolResultBlockParamContentUnion{{OfText: &sdk.TextBlockParam{Text: m.Content}}}
		}
		return sdk.MessageParamRoleUser, []sdk.ContentBlockParamUnion{{OfToolResult: &result}}, nil
	}
	return "", nil, fmt.Errorf("message %d: unknown role %q (want system, user, assistant or tool)", i, m.Role)
}

// toolInput checks that a call's arguments are a JSON object (none means {}).
func toolInput(tc providers.ToolCall) (json.RawMessage, error) {
	if tc.ID == "" || tc.Name == "" {
		return nil, fmt.Errorf("tool call %q needs an id and a name", tc.Name)
	}
	args := strings.TrimSpace(string(tc.Arguments))
	if args == "" {
		return json.RawMessage("{}"), nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(args), &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("tool call %s: arguments are not a JSON object", tc.Name)
	}
	return json.RawMessage(args), nil
}

// applyParams sets the step's params; unknown params are an error.
func applyParams(params *sdk.MessageNewParams, in map[string]any) error {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := applyParam(params, k, in[k]); err != nil {
			return fmt.Errorf("param %s: %w", k, err)
		}
	}
	return nil
}

func applyParam(params *sdk.MessageNewParams, k string, v any) error {
	switch k {
	case "max_tokens", "top_k":
		n, ok := setting.ToInt(v)
		if !ok || n < 1 {
			return fmt.Errorf("want a positive integer, got %v", v)
		}
		if k == "top_k" {
			params.TopK = sdk.Int(int64(n))
		} else {
			params.MaxTokens = int64(n)
		}
	case "temperature", "top_p":
		f, ok := setting.ToFloat(v)
		if !ok {
			return fmt.Errorf("want a number, got %v", v)
		}
		if k == "temperature" {
			params.Temperature = sdk.Float(f)
		} else {
			params.TopP = sdk.Float(f)
		}
	case "stop":
		if s, ok := v.(string); ok {
			params.StopSequences = []string{s}
			return nil
		}
		list, err := stringList(v)
		if err != nil {
			return err
		}
		params.StopSequences = list
	default:
		if !ignoredParams[k] {
			return fmt.Errorf("not supported by anthropic (supported: %s)", strings.Join(supportedParams, ", "))
		}
	}
	return nil
}
