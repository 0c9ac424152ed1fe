package workersai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
)

// Generate runs a chat completion in the messages form. JSON mode (req.JSONSchema) uses
// response_format json_schema and cannot stream, so its text reaches req.Stream in one
// delta. Models the catalogue marks "openai-chat" (gpt-oss) use /ai/v1/chat/completions.
func (p *Provider) Generate(ctx context.Context, req providers.GenerateRequest) (providers.GenerateResponse, error) {
	if err := checkModel(req.Model); err != nil {
		return providers.GenerateResponse{}, err
	}
	m, _ := catalog.Lookup(Kind, req.Model)
	if m.Task == TaskImageToText {
		return p.describeImage(ctx, req)
	}
	openAI := m.API == "openai-chat"
	body, maxTokens, err := p.generateBody(req, openAI)
	if err != nil {
		return providers.GenerateResponse{}, err
	}
	c := call{task: providers.TaskGenerate, model: req.Model, body: body, gw: req.Gateway, chat: openAI,
		stream: req.Stream != nil && req.JSONSchema == nil}
	if c.stream {
		return p.generateStream(ctx, c, req, maxTokens)
	}
	var res genResult
	meta, err := p.run(ctx, c, &res)
	if err != nil {
		return providers.GenerateResponse{}, err
	}
	out, err := res.response(req, maxTokens)
	if err != nil {
		return providers.GenerateResponse{}, err
	}
	out.Meta = meta
	if req.Stream != nil && out.Text != "" {
		req.Stream(out.Text)
	}
	return out, nil
}

// generateBody builds the request body.
func (p *Provider) generateBody(req providers.GenerateRequest, openAI bool) (map[string]any, int, error) {
	msgs, err := wireMessages(req.Messages)
	if err != nil {
		return nil, 0, withModel(err, req.Model)
	}
	body := map[string]any{"messages": msgs}
	if err := wireImages(body, req.Messages, openAI); err != nil {
		return nil, 0, withModel(err, req.Model)
	}
	maxTokens, err := applyParams(body, req.Params, p.cfg.maxTokens, openAI)
	if err != nil {
		return nil, 0, withModel(err, req.Model)
	}
	if ps, ok := catalog.PublishedParams(Kind, req.Model, "messages"); ok && !openAI {
		if err := checkPublished(req.Model, ps, req.Params, "param"); err != nil {
			return nil, 0, err
		}
	}
	if req.JSONSchema != nil {
		body["response_format"] = responseFormat(req.JSONSchema, openAI)
	}
	if len(req.Tools) > 0 {
		body["tools"] = wireTools(req.Tools, openAI)
	}
	if openAI {
		body["model"] = req.Model
	}
	if req.Stream != nil && req.JSONSchema == nil {
		body["stream"] = true
		if openAI {
			body["stream_options"] = map[string]any{"include_usage": true}
		}
	}
	return body, maxTokens, nil
}

// responseFormat asks for JSON: the schema itself under json_schema on /ai/run (no
// name/schema wrapper), the OpenAI wrapper on the compatible endpoint.
func responseFormat(schema map[string]any, openAI bool) map[string]any {
	if len(schema) == 0 {
		return map[string]any{"type": "json_object"}
	}
	if openAI {
		return map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "output", "schema": schema}}
	}
	return map[string]any{"type": "json_schema", "json_schema": schema}
}

// genResult is a generation `result` in the native shape or the OpenAI chat shape that
// newer models (and the compatible endpoint) return.
type genResult struct {
	Response  json.RawMessage `json:"response"`
	ToolCalls []wireToolCall  `json:"tool_calls"`
	Usage     *wireUsage      `json:"usage"`
	Choices   []genChoice     `json:"choices"`
}

// genChoice is one OpenAI-shaped choice.
type genChoice struct {
	Message struct {
		Content   *string        `json:"content"`
		ToolCalls []wireToolCall `json:"tool_calls"`
	} `json:"message"`
	FinishReason string `json:"finish_reason"`
}

// wireToolCall is a tool call in either shape: {name, arguments: {…}} without id, or
// {id, type, function: {name, arguments: "<json>"}}.
type wireToolCall struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	Function  *wireFunction   `json:"function"`
}

// wireFunction is the OpenAI-shaped function of a tool call.
type wireFunction struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// response converts a result into a GenerateResponse.
func (r genResult) response(req providers.GenerateRequest, maxTokens int) (providers.GenerateResponse, error) {
	var out providers.GenerateResponse
	text, obj, err := responseText(r.Response)
	if err != nil {
		return out, invalid(req.Model, "decoding response: "+err.Error())
	}
	calls, finish := r.ToolCalls, ""
	if len(r.Choices) > 0 {
		ch := r.Choices[0]
		if ch.Message.Content != nil {
			text = *ch.Message.Content
		}
		calls, finish = append(calls, ch.Message.ToolCalls...), ch.FinishReason
	}
	out.Text, out.JSON = text, obj
	if req.JSONSchema != nil && obj == nil {
		out.JSON = parseJSONText(text)
	}
	if out.ToolCalls, err = toolCalls(calls); err != nil {
		return out, invalid(req.Model, err.Error())
	}
	var u wireUsage
	if r.Usage != nil {
		u = *r.Usage
	}
	out.Usage = usageFor(req.Model, u)
	out.FinishReason = finishReason(finish, len(out.ToolCalls), u.CompletionTokens, maxTokens)
	return out, nil
}

// responseText reads `response`: a string, or an object (JSON mode's documented form),
// which is also returned decoded.
func responseText(raw json.RawMessage) (string, any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil, nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, nil, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", nil, err
	}
	return buf.String(), v, nil
}

// parseJSONText decodes a JSON answer given as a string, tolerating a ``` fence; nil
// when it is not JSON.
func parseJSONText(s string) any {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "```"); ok {
		rest = strings.TrimPrefix(rest, "json")
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "```"))
	}
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return nil
	}
	return v
}

// toolCalls normalises tool calls: arguments become a JSON object, missing ids become
// call_<n> so tool turns can refer to them.
func toolCalls(in []wireToolCall) ([]providers.ToolCall, error) {
	var out []providers.ToolCall
	for i, w := range in {
		name, args := w.Name, w.Arguments
		if w.Function != nil {
			name, args = w.Function.Name, w.Function.Arguments
		}
		obj, err := argumentsObject(args)
		if err != nil {
			return nil, fmt.Errorf("tool call %d (%s): %w", i, name, err)
		}
		id := w.ID
		if id == "" {
			id = fmt.Sprintf("call_%d", i)
		}
		out = append(out, providers.ToolCall{ID: id, Name: name, Arguments: obj})
	}
	return out, nil
}

// argumentsObject accepts an object or a string holding one.
func argumentsObject(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return []byte("{}"), nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if strings.TrimSpace(s) == "" {
			return []byte("{}"), nil
		}
		raw = []byte(s)
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("arguments are not a JSON object: %w", err)
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, raw)
	return buf.Bytes(), nil
}

// finishReason reports tool_calls, the service's own reason, or length when the answer
// used all of max_tokens, else stop.
func finishReason(reported string, calls, outTokens, maxTokens int) string {
	switch {
	case calls > 0:
		return "tool_calls"
	case reported != "":
		return reported
	case maxTokens > 0 && outTokens >= maxTokens:
		return "length"
	}
	return "stop"
}

// wireImages adds the images of the user turns. On /ai/run the published schema of the
// vision models (llama-3.2-11b-vision-instruct) takes one top-level image as an array of
// byte values next to string messages. The models served on the OpenAI-compatible
// endpoint (gpt-oss) read no images, so images there are refused before sending.
func wireImages(body map[string]any, msgs []providers.Message, openAI bool) error {
	var n int
	for _, m := range msgs {
		if len(m.Images) == 0 {
			continue
		}
		n += len(m.Images)
		if openAI {
			return invalid("", "images: this model is served on the OpenAI-compatible endpoint and takes no images; use @cf/meta/llama-3.2-11b-vision-instruct")
		}
		if n > 1 {
			return invalid("", fmt.Sprintf("%d images: the model's published schema takes one image per request", n))
		}
		vals := make([]int, len(m.Images[0].Data))
		for j, c := range m.Images[0].Data {
			vals[j] = int(c)
		}
		body["image"] = vals
	}
	return nil
}
