package openai

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/shared"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/internal/setting"
)

// toolName is OpenAI's rule for function and schema names.
var toolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// supportedParams are the step params this provider sends; ignoredParams are params of
// other providers that a route may share with this one, dropped silently.
var (
	supportedParams = []string{"max_tokens", "max_completion_tokens", "temperature", "top_p", "seed",
		"stop", "presence_penalty", "frequency_penalty"}
	ignoredParams = map[string]bool{"top_k": true, "repetition_penalty": true}
)

// buildParams turns a GenerateRequest into chat completion params.
func (p *Provider) buildParams(req providers.GenerateRequest) (oai.ChatCompletionNewParams, error) {
	params := oai.ChatCompletionNewParams{Model: req.Model}
	if req.Model == "" {
		return params, fmt.Errorf("no model given")
	}
	if p.cfg.compat() && !strings.Contains(req.Model, "/") {
		return params, fmt.Errorf("model %q: the AI Gateway compat endpoint needs provider/model names, e.g. openai/%s", req.Model, req.Model)
	}
	var err error
	if params.Messages, err = messages(req.Messages); err != nil {
		return params, err
	}
	if params.Tools, err = tools(req.Tools); err != nil {
		return params, err
	}
	if req.JSONSchema != nil {
		params.ResponseFormat = responseFormat(req.JSONSchema)
	}
	return params, p.applyParams(&params, req.Params)
}

// messages maps our turns onto OpenAI's roles; tool results become tool turns.
func messages(msgs []providers.Message) ([]oai.ChatCompletionMessageParamUnion, error) {
	if len(msgs) == 0 {
		return nil, fmt.Errorf("no messages given")
	}
	out := make([]oai.ChatCompletionMessageParamUnion, 0, len(msgs))
	for i, m := range msgs {
		switch m.Role {
		case "system":
			out = append(out, oai.SystemMessage(m.Content))
		case "developer":
			out = append(out, oai.DeveloperMessage(m.Content))
		case "user":
			if len(m.Images) == 0 {
				out = append(out, oai.UserMessage(m.Content))
				continue
			}
			// Vision: the text, then each image as an image_url part with a data URL.
			parts := []oai.ChatCompletionContentPartUnionParam{oai.TextContentPart(m.Content)}
			for _, img := range m.Images {
				parts = append(parts, oai.ImageContentPart(oai.ChatCompletionContentPartImageImageURLParam{URL: img.DataURL()}))
			}
			out = append(out, oai.UserMessage(parts))
		case "assistant":
			out = append(out, assistantMessage(m))
		case "tool":
			if m.ToolCallID == "" {
				return nil, fmt.Errorf("message %d: a tool turn needs the tool_call_id it answers", i)
			}
			content := m.Content
			if m.IsError {
				content = "error: " + content
			}
			out = append(out, oai.ToolMessage(content, m.ToolCallID))
		default:
			return nil, fmt.Errorf("message %d: unknown role %q (want system, user, assistant or tool)", i, m.Role)
		}
	}
	return out, nil
}

// assistantMessage carries text and tool calls; arguments travel as a JSON string.
func assistantMessage(m providers.Message) oai.ChatCompletionMessageParamUnion {
	var a oai.ChatCompletionAssistantMessageParam
	if m.Content != "" || len(m.ToolCalls) == 0 {
		a.Content.OfString = oai.String(m.Content)
	}
	for _, tc := range m.ToolCalls {
		args := string(tc.Arguments)
		if strings.TrimSpace(args) == "" {
			args = "{}"
		}
		a.ToolCalls = append(a.ToolCalls, oai.ChatCompletionMessageToolCallUnionParam{
			OfFunction: &oai.ChatCompletionMessageFunctionToolCallParam{
				ID:       tc.ID,
				Function: oai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: tc.Name, Arguments: args},
			},
		})
	}
	return oai.ChatCompletionMessageParamUnion{OfAssistant: &a}
}

func tools(specs []providers.ToolSpec) ([]oai.ChatCompletionToolUnionParam, error) {
	var out []oai.ChatCompletionToolUnionParam
	for _, t := range specs {
		if !toolName.MatchString(t.Name) {
			return nil, fmt.Errorf("tool %q: names may use only letters, digits, _ and - (at most 64)", t.Name)
		}
		fn := shared.FunctionDefinitionParam{Name: t.Name}
		if t.Description != "" {
			fn.Description = oai.String(t.Description)
		}
		params := t.Parameters
		if params == nil {
			params = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		fn.Parameters = shared.FunctionParameters(params)
		out = append(out, oai.ChatCompletionFunctionTool(fn))
	}
	return out, nil
}

// responseFormat asks for json_schema output. The name is the schema's title when it is
// a valid name, else "output". strict is on only when the schema already meets strict
// mode's rules (every object closed, every property required); OpenAI rejects it otherwise.
func responseFormat(schema map[string]any) oai.ChatCompletionNewParamsResponseFormatUnion {
	name := "output"
	if title, _ := schema["title"].(string); toolName.MatchString(title) {
		name = title
	}
	js := shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: name, Schema: schema, Strict: oai.Bool(strictCompatible(schema))}
	return oai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: js}}
}

// strictCompatible reports whether every object in schema has additionalProperties
// false and lists all its properties as required.
func strictCompatible(schema map[string]any) bool {
	if props, ok := schema["properties"].(map[string]any); ok || schema["type"] == "object" {
		if schema["additionalProperties"] != false {
			return false
		}
		req, _ := schema["required"].([]any)
		if len(req) != len(props) {
			return false
		}
		for _, sub := range props {
			if m, ok := sub.(map[string]any); ok && !strictCompatible(m) {
				return false
			}
		}
	}
	if items, ok := schema["items"].(map[string]any); ok {
		return strictCompatible(items)
	}
	return true
}

// applyParams sets the step's params; unknown params are an error.
func (p *Provider) applyParams(params *oai.ChatCompletionNewParams, in map[string]any) error {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := p.applyParam(params, k, in[k]); err != nil {
			return fmt.Errorf("param %s: %w", k, err)
		}
	}
	return nil
}

func (p *Provider) applyParam(params *oai.ChatCompletionNewParams, k string, v any) error {
	switch k {
	case "max_tokens", "max_completion_tokens":
		n, ok := setting.ToInt(v)
		if !ok || n < 1 {
			return fmt.Errorf("want a positive integer, got %v", v)
		}
		if p.cfg.maxField == FieldMaxTokens {
			params.MaxTokens = oai.Int(int64(n))
		} else {
			params.MaxCompletionTokens = oai.Int(int64(n))
		}
	case "seed":
		n, ok := setting.ToInt(v)
		if !ok {
			return fmt.Errorf("want an integer, got %v", v)
		}
		params.Seed = oai.Int(int64(n))
	case "stop":
		return applyStop(params, v)
	case "temperature", "top_p", "presence_penalty", "frequency_penalty":
		f, ok := setting.ToFloat(v)
		if !ok {
			return fmt.Errorf("want a number, got %v", v)
		}
		*floatParam(params, k) = oai.Float(f)
	default:
		if !ignoredParams[k] {
			return fmt.Errorf("not supported by openai (supported: %s)", strings.Join(supportedParams, ", "))
		}
	}
	return nil
}

func floatParam(params *oai.ChatCompletionNewParams, k string) *param.Opt[float64] {
	switch k {
	case "temperature":
		return &params.Temperature
	case "top_p":
		return &params.TopP
	case "presence_penalty":
		return &params.PresencePenalty
	}
	return &params.FrequencyPenalty
}

func applyStop(params *oai.ChatCompletionNewParams, v any) error {
	switch x := v.(type) {
	case string:
		params.Stop.OfString = oai.String(x)
	case []string:
		params.Stop.OfStringArray = x
	case []any:
		for _, s := range x {
			str, ok := s.(string)
			if !ok {
				return fmt.Errorf("want strings, got %T", s)
			}
			params.Stop.OfStringArray = append(params.Stop.OfStringArray, str)
		}
	default:
		return fmt.Errorf("want a string or a list of strings, got %T", v)
	}
	return nil
}
