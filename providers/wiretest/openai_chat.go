package wiretest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// openAIChatFields are the documented top-level fields of a chat completion request.
var openAIChatFields = []string{
	"model", "messages", "audio", "frequency_penalty", "function_call", "functions",
	"logit_bias", "logprobs", "max_completion_tokens", "max_tokens", "metadata", "modalities",
	"n", "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key",
	"reasoning_effort", "response_format", "safety_identifier", "seed", "service_tier", "stop",
	"store", "stream", "stream_options", "temperature", "tool_choice", "tools", "top_logprobs",
	"top_p", "user", "verbosity", "web_search_options",
}

var openAIName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

type oaiChatBody struct {
	Model            string          `json:"model"`
	Messages         []oaiMessage    `json:"messages"`
	Tools            []oaiTool       `json:"tools"`
	ToolChoice       json.RawMessage `json:"tool_choice"`
	ResponseFormat   *oaiFormat      `json:"response_format"`
	Stream           bool            `json:"stream"`
	StreamOptions    *oaiStreamOpts  `json:"stream_options"`
	MaxTokens        *int            `json:"max_tokens"`
	MaxCompletion    *int            `json:"max_completion_tokens"`
	Temperature      *float64        `json:"temperature"`
	TopP             *float64        `json:"top_p"`
	PresencePenalty  *float64        `json:"presence_penalty"`
	FrequencyPenalty *float64        `json:"frequency_penalty"`
	N                *int            `json:"n"`
}

type oaiMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []oaiToolCall   `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
	Name       string          `json:"name"`
}

type oaiToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

type oaiTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string         `json:"name"`
		Description string         `json:"description"`
		Parameters  map[string]any `json:"parameters"`
		Strict      *bool          `json:"strict"`
	} `json:"function"`
}

type oaiFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name   string         `json:"name"`
		Schema map[string]any `json:"schema"`
		Strict *bool          `json:"strict"`
	} `json:"json_schema"`
}

type oaiStreamOpts struct {
	IncludeUsage bool `json:"include_usage"`
}

// chat serves POST /chat/completions.
func (o *OpenAI) chat(w http.ResponseWriter, body []byte, f *Fault) {
	req, err := o.parseChat(body)
	if err != nil {
		o.fail.bad(w, err)
		return
	}
	prompt, err := openAIPrompt(req)
	if err != nil {
		o.fail.bad(w, err)
		return
	}
	turn := o.cfg.script(prompt)
	id := o.seq.Add(1)
	for i := range turn.ToolCalls {
		if turn.ToolCalls[i].ID == "" {
			turn.ToolCalls[i].ID = fmt.Sprintf("call_%d_%d", id, i)
		}
	}
	r := oaiReply{id: fmt.Sprintf("chatcmpl-%d", id), model: req.Model, turn: turn,
		promptTokens: oaiPromptTokens(req), completionTokens: oaiCompletionTokens(turn)}
	if req.Stream {
		r.stream(w, req.StreamOptions != nil && req.StreamOptions.IncludeUsage, f)
		return
	}
	r.json(w, f)
}

// parseChat decodes and validates a request body like the real API does.
func (o *OpenAI) parseChat(body []byte) (*oaiChatBody, *oaiBad) {
	allowed := openAIChatFields
	if o.cfg.maxTokensOnly {
		allowed = slices.DeleteFunc(slices.Clone(allowed), func(s string) bool { return s == "max_completion_tokens" })
	}
	if err := oaiCheckFields(body, allowed); err != nil {
		return nil, err
	}
	var req oaiChatBody
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &oaiBad{msg: "We could not parse the JSON body of your request: " + err.Error()}
	}
	if req.Model == "" {
		return nil, &oaiBad{param: "model", msg: "you must provide a model parameter"}
	}
	if len(req.Messages) == 0 {
		return nil, &oaiBad{param: "messages", code: "empty_array", msg: "[] is too short - 'messages'"}
	}
	if err := req.checkParams(); err != nil {
		return nil, err
	}
	return &req, nil
}

// oaiCheckFields rejects top-level fields outside allowed, naming the first in body order.
func oaiCheckFields(body []byte, allowed []string) *oaiBad {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return &oaiBad{msg: "We could not parse the JSON body of your request: expected an object"}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return &oaiBad{msg: "We could not parse the JSON body of your request: " + err.Error()}
		}
		name, _ := tok.(string)
		if !slices.Contains(allowed, name) {
			return &oaiBad{param: name, code: "unknown_parameter",
				msg: "Unrecognized request argument supplied: " + name}
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return &oaiBad{msg: "We could not parse the JSON body of your request: " + err.Error()}
		}
	}
	return nil
}

// checkParams validates ranges, tools and response_format.
func (req *oaiChatBody) checkParams() *oaiBad {
	ranges := []struct {
		name     string
		v        *float64
		min, max float64
	}{
		{"temperature", req.Temperature, 0, 2}, {"top_p", req.TopP, 0, 1},
		{"presence_penalty", req.PresencePenalty, -2, 2}, {"frequency_penalty", req.FrequencyPenalty, -2, 2},
	}
	for _, r := range ranges {
		if r.v != nil && (*r.v < r.min || *r.v > r.max) {
			return &oaiBad{param: r.name, code: "decimal_above_max_value",
				msg: fmt.Sprintf("Invalid '%s': must be between %g and %g, got %g.", r.name, r.min, r.max, *r.v)}
		}
	}
	if req.StreamOptions != nil && !req.Stream {
		return &oaiBad{param: "stream_options",
			msg: "The 'stream_options' parameter is only allowed when 'stream' is enabled."}
	}
	for i, t := range req.Tools {
		if t.Type != "function" || !openAIName.MatchString(t.Function.Name) {
			return &oaiBad{param: fmt.Sprintf("tools[%d].function.name", i), code: "invalid_value",
				msg: fmt.Sprintf("Invalid 'tools[%d].function.name': string does not match pattern '^[a-zA-Z0-9_-]+$'.", i)}
		}
	}
	return req.checkFormat()
}

func (req *oaiChatBody) checkFormat() *oaiBad {
	rf := req.ResponseFormat
	if rf == nil {
		return nil
	}
	switch rf.Type {
	case "text", "json_object":
		return nil
	case "json_schema":
		if rf.JSONSchema == nil || !openAIName.MatchString(rf.JSONSchema.Name) {
			return &oaiBad{param: "response_format.json_schema.name", code: "missing_required_parameter",
				msg: "Missing required parameter: 'response_format.json_schema.name'."}
		}
		return nil
	}
	return &oaiBad{param: "response_format.type", code: "invalid_value",
		msg: fmt.Sprintf("Invalid value: '%s'. Supported values are: 'json_object', 'json_schema', and 'text'.", rf.Type)}
}

// openAIPrompt turns the request into a ChatPrompt, checking each turn.
func openAIPrompt(req *oaiChatBody) (ChatPrompt, *oaiBad) {
	p := ChatPrompt{Model: req.Model, Stream: req.Stream}
	if req.MaxCompletion != nil {
		p.MaxTokens = *req.MaxCompletion
	} else if req.MaxTokens != nil {
		p.MaxTokens = *req.MaxTokens
	}
	for _, t := range req.Tools {
		p.Tools = append(p.Tools, ChatPromptTool{Name: t.Function.Name, Schema: t.Function.Parameters})
	}
	p.ForcedTool = forcedOpenAITool(req.ToolChoice)
	if rf := req.ResponseFormat; rf != nil {
		p.JSONObject = rf.Type == "json_object"
		if rf.Type == "json_schema" {
			p.JSONSchema = rf.JSONSchema.Schema
			if p.JSONSchema == nil {
				p.JSONSchema = map[string]any{}
			}
		}
	}
	var system []string
	pending := map[string]bool{}
	for i, m := range req.Messages {
		pm, err := openAIMessage(i, m, pending)
		if err != nil {
			return p, err
		}
		if m.Role == "system" || m.Role == "developer" {
			system = append(system, pm.Content)
			continue
		}
		p.Messages = append(p.Messages, pm)
	}
	if err := oaiUnanswered(pending); err != nil {
		return p, err
	}
	p.System = strings.Join(system, "\n")
	return p, nil
}

// openAIMessage checks one turn. pending holds the tool_call ids still awaiting an answer.
func openAIMessage(i int, m oaiMessage, pending map[string]bool) (ChatPromptMessage, *oaiBad) {
	at := fmt.Sprintf("messages[%d]", i)
	text, images, err := openAIContent(at, m.Content)
	if err != nil {
		return ChatPromptMessage{}, err
	}
	if len(images) > 0 && m.Role != "user" {
		return ChatPromptMessage{}, &oaiBad{param: at + ".content", code: "invalid_value",
			msg: fmt.Sprintf("Invalid value for '%s.content': image_url parts are only allowed in user messages.", at)}
	}
	pm := ChatPromptMessage{Role: m.Role, Content: text, Images: images}
	if m.Role != "tool" {
		if err := oaiUnanswered(pending); err != nil {
			return pm, err
		}
	}
	switch m.Role {
	case "system", "developer", "user":
		if m.Content == nil || string(m.Content) == "null" {
			return pm, &oaiBad{param: at + ".content", code: "missing_required_parameter",
				msg: fmt.Sprintf("Missing required parameter: '%s.content'.", at)}
		}
	case "assistant":
		calls, err := openAIAssistantCalls(at, m.ToolCalls)
		if err != nil {
			return pm, err
		}
		pm.ToolCalls = calls
		for _, c := range calls {
			pending[c.ID] = true
		}
	case "tool":
		if m.ToolCallID == "" {
			return pm, &oaiBad{param: at + ".tool_call_id", code: "missing_required_parameter",
				msg: fmt.Sprintf("Missing required parameter: '%s.tool_call_id'.", at)}
		}
		if !pending[m.ToolCallID] {
			return pm, &oaiBad{param: at + ".role", msg: "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'."}
		}
		delete(pending, m.ToolCallID)
		pm.ToolCallID = m.ToolCallID
	default:
		return pm, &oaiBad{param: at + ".role", code: "invalid_value",
			msg: fmt.Sprintf("Invalid value: '%s'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function', and 'developer'.", m.Role)}
	}
	return pm, nil
}

// oaiUnanswered fails when an assistant's tool calls were not all answered before the next turn.
func oaiUnanswered(pending map[string]bool) *oaiBad {
	if len(pending) == 0 {
		return nil
	}
	ids := make([]string, 0, len(pending))
	for id := range pending {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return &oaiBad{param: "messages", msg: "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: " + strings.Join(ids, ", ")}
}

// openAIContent reads a content field: a string, null, or an array of text and
// image_url parts. Images must be data URLs (data:image/…;base64,…) with valid base64 or
// https URLs; it returns their media types ("url" for a web URL).
func openAIContent(at string, raw json.RawMessage) (string, []string, *oaiBad) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil, nil
	}
	var parts []struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		ImageURL *struct {
			URL string `json:"url"`
		} `json:"image_url"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", nil, &oaiBad{param: at + ".content", code: "invalid_type",
			msg: fmt.Sprintf("Invalid type for '%s.content': expected one of a string or array of objects.", at)}
	}
	var texts, images []string
	for j, p := range parts {
		switch p.Type {
		case "text":
			texts = append(texts, p.Text)
		case "image_url":
			mt, ok := oaiImageURL(p.ImageURL)
			if !ok {
				return "", nil, &oaiBad{param: fmt.Sprintf("%s.content[%d].image_url.url", at, j), code: "invalid_image_url",
					msg: "Invalid image URL: expected a base64 data URL (data:image/png;base64,…) or an https URL."}
			}
			images = append(images, mt)
		default:
			return "", nil, &oaiBad{param: fmt.Sprintf("%s.content[%d].type", at, j), code: "invalid_value",
				msg: fmt.Sprintf("Invalid value: '%s'. Supported values are: 'text', 'image_url', 'input_audio', 'refusal', and 'file'.", p.Type)}
		}
	}
	return strings.Join(texts, ""), images, nil
}

// oaiImageURL checks an image_url part and returns the image's media type.
func oaiImageURL(u *struct {
	URL string `json:"url"`
}) (string, bool) {
	if u == nil {
		return "", false
	}
	if strings.HasPrefix(u.URL, "https://") {
		return "url", true
	}
	rest, ok := strings.CutPrefix(u.URL, "data:")
	if !ok {
		return "", false
	}
	mt, data, ok := strings.Cut(rest, ";base64,")
	if !ok || !strings.HasPrefix(mt, "image/") {
		return "", false
	}
	if _, err := base64.StdEncoding.DecodeString(data); err != nil || data == "" {
		return "", false
	}
	return mt, true
}

// openAIAssistantCalls checks an assistant turn's tool calls: string arguments only.
func openAIAssistantCalls(at string, calls []oaiToolCall) ([]ChatToolCall, *oaiBad) {
	var out []ChatToolCall
	for j, c := range calls {
		var args string
		if err := json.Unmarshal(c.Function.Arguments, &args); err != nil {
			return nil, &oaiBad{param: fmt.Sprintf("%s.tool_calls[%d].function.arguments", at, j), code: "invalid_type",
				msg: fmt.Sprintf("Invalid type for '%s.tool_calls[%d].function.arguments': expected a string.", at, j)}
		}
		if c.ID == "" || c.Type != "function" || c.Function.Name == "" {
			return nil, &oaiBad{param: fmt.Sprintf("%s.tool_calls[%d]", at, j), code: "missing_required_parameter",
				msg: fmt.Sprintf("Missing required parameter: '%s.tool_calls[%d].id', 'type' or 'function.name'.", at, j)}
		}
		out = append(out, ChatToolCall{ID: c.ID, Name: c.Function.Name, Arguments: args})
	}
	return out, nil
}

// forcedOpenAITool reads {"type":"function","function":{"name":…}} from tool_choice.
func forcedOpenAITool(raw json.RawMessage) string {
	var tc struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(raw, &tc) != nil {
		return ""
	}
	return tc.Function.Name
}

func oaiPromptTokens(req *oaiChatBody) int {
	n := 0
	for _, m := range req.Messages {
		n += chatTokens(string(m.Content)) + 1
	}
	return n
}

func oaiCompletionTokens(t ChatTurn) int {
	parts := []string{t.Text}
	for _, c := range t.ToolCalls {
		parts = append(parts, c.Name, strings.ReplaceAll(c.Arguments, ",", " "))
	}
	return chatTokens(parts...)
}
