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

// anthropicFields are the documented top-level fields of a Messages request.
var anthropicFields = []string{
	"model", "max_tokens", "messages", "system", "metadata", "stop_sequences", "stream",
	"temperature", "top_k", "top_p", "tools", "tool_choice", "thinking", "service_tier",
}

var anthropicToolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

type antBody struct {
	Model       string          `json:"model"`
	MaxTokens   *int            `json:"max_tokens"`
	Messages    []antMessage    `json:"messages"`
	System      json.RawMessage `json:"system"`
	Stream      bool            `json:"stream"`
	Temperature *float64        `json:"temperature"`
	TopP        *float64        `json:"top_p"`
	Tools       []antTool       `json:"tools"`
	ToolChoice  *antToolChoice  `json:"tool_choice"`
}

type antMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type antBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	IsError   bool            `json:"is_error"`
	Source    *antSource      `json:"source"`
}

// antSource is an image block's source; the emulator takes the base64 form.
type antSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
}

type antTool struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	InputSchema map[string]any `json:"input_schema"`
}

type antToolChoice struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// antBad is a 400 invalid_request_error.
type antBad struct{ msg string }

func (e *antBad) Error() string { return e.msg }

func antBadf(format string, args ...any) *antBad { return &antBad{msg: fmt.Sprintf(format, args...)} }

// messages serves POST /v1/messages.
func (a *Anthropic) messages(w http.ResponseWriter, body []byte, f *Fault, reqID string) {
	req, prompt, err := parseAnthropic(body)
	if err != nil {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", err.msg, reqID)
		return
	}
	turn := a.cfg.script(prompt)
	id := a.seq.Add(1)
	for i := range turn.ToolCalls {
		if turn.ToolCalls[i].ID == "" {
			turn.ToolCalls[i].ID = fmt.Sprintf("toolu_%02d_%d", id, i)
		}
	}
	r := antReply{id: fmt.Sprintf("msg_%02d", id), model: req.Model, turn: turn,
		inputTokens: antInputTokens(prompt), outputTokens: oaiCompletionTokens(turn)}
	if req.Stream {
		r.stream(w, f)
		return
	}
	r.json(w, f)
}

// parseAnthropic decodes and validates a body and builds the prompt.
func parseAnthropic(body []byte) (*antBody, ChatPrompt, *antBad) {
	if err := antCheckFields(body); err != nil {
		return nil, ChatPrompt{}, err
	}
	var req antBody
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, ChatPrompt{}, antBadf("invalid JSON body: %v", err)
	}
	switch {
	case req.Model == "":
		return nil, ChatPrompt{}, antBadf("model: Field required")
	case req.MaxTokens == nil:
		return nil, ChatPrompt{}, antBadf("max_tokens: Field required")
	case *req.MaxTokens < 1:
		return nil, ChatPrompt{}, antBadf("max_tokens: Input should be greater than or equal to 1")
	case req.Messages == nil:
		return nil, ChatPrompt{}, antBadf("messages: Field required")
	case len(req.Messages) == 0:
		return nil, ChatPrompt{}, antBadf("messages: List should have at least 1 item after validation, not 0")
	case req.Temperature != nil && (*req.Temperature < 0 || *req.Temperature > 1):
		return nil, ChatPrompt{}, antBadf("temperature: Input should be less than or equal to 1")
	}
	p, err := antPrompt(&req)
	return &req, p, err
}

// antCheckFields rejects the first unknown top-level field.
func antCheckFields(body []byte) *antBad {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return antBadf("invalid JSON body: expected an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return antBadf("invalid JSON body: %v", err)
		}
		name, _ := tok.(string)
		if !slices.Contains(anthropicFields, name) {
			return antBadf("%s: Extra inputs are not permitted", name)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return antBadf("invalid JSON body: %v", err)
		}
	}
	return nil
}

func antPrompt(req *antBody) (ChatPrompt, *antBad) {
	p := ChatPrompt{Model: req.Model, Stream: req.Stream, MaxTokens: *req.MaxTokens}
	system, err := antSystem(req.System)
	if err != nil {
		return p, err
	}
	p.System = system
	if p.Tools, err = antTools(req.Tools); err != nil {
		return p, err
	}
	if p.ForcedTool, err = antForced(req.ToolChoice, p.Tools); err != nil {
		return p, err
	}
	turns, err := antTurns(req.Messages)
	if err != nil {
		return p, err
	}
	p.Messages = turns
	return p, nil
}

func antSystem(raw json.RawMessage) (string, *antBad) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var blocks []antBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return "", antBadf("system: Input should be a valid string or a list of text blocks")
	}
	var texts []string
	for i, b := range blocks {
		if b.Type != "text" {
			return "", antBadf("system.%d.type: Input should be 'text'", i)
		}
		texts = append(texts, b.Text)
	}
	return strings.Join(texts, "\n"), nil
}

func antTools(tools []antTool) ([]ChatPromptTool, *antBad) {
	var out []ChatPromptTool
	for i, t := range tools {
		if !anthropicToolName.MatchString(t.Name) {
			return nil, antBadf("tools.%d.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'", i)
		}
		if t.InputSchema == nil {
			return nil, antBadf("tools.%d.custom.input_schema: Field required", i)
		}
		if t.InputSchema["type"] != "object" {
			return nil, antBadf("tools.%d.custom.input_schema.type: Input should be 'object'", i)
		}
		out = append(out, ChatPromptTool{Name: t.Name, Schema: t.InputSchema})
	}
	return out, nil
}

// antForced returns the tool the model must call: the named tool for "tool", the first
// tool for "any".
func antForced(tc *antToolChoice, tools []ChatPromptTool) (string, *antBad) {
	if tc == nil {
		return "", nil
	}
	switch tc.Type {
	case "auto", "none":
		return "", nil
	case "any":
		if len(tools) == 0 {
			return "", antBadf("tool_choice: tool_choice may only be specified while providing tools.")
		}
		return tools[0].Name, nil
	case "tool":
		for _, t := range tools {
			if t.Name == tc.Name {
				return tc.Name, nil
			}
		}
		return "", antBadf("tool_choice: Tool '%s' not found in provided tools", tc.Name)
	}
	return "", antBadf("tool_choice.type: Input tag '%s' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'", tc.Type)
}

// antTurns merges consecutive same-role turns (as the API does) and checks that every
// tool_use is answered by a tool_result in the next user turn and nowhere else.
func antTurns(msgs []antMessage) ([]ChatPromptMessage, *antBad) {
	merged, err := antMerge(msgs)
	if err != nil {
		return nil, err
	}
	var out []ChatPromptMessage
	var pending map[string]bool
	for i, m := range merged {
		turn, err := antTurn(i, m, pending)
		if err != nil {
			return nil, err
		}
		pending = map[string]bool{}
		for _, pm := range turn {
			for _, c := range pm.ToolCalls {
				pending[c.ID] = true
			}
		}
		out = append(out, turn...)
	}
	return out, nil
}

type antMerged struct {
	role   string
	blocks []antBlock
}

func antMerge(msgs []antMessage) ([]antMerged, *antBad) {
	var out []antMerged
	for i, m := range msgs {
		if m.Role != "user" && m.Role != "assistant" {
			return nil, antBadf("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		blocks, err := antBlocks(i, m.Content)
		if err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].role == m.Role {
			out[n-1].blocks = append(out[n-1].blocks, blocks...)
			continue
		}
		out = append(out, antMerged{role: m.Role, blocks: blocks})
	}
	return out, nil
}

func antBlocks(i int, raw json.RawMessage) ([]antBlock, *antBad) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, antBadf("messages.%d.content: Field required", i)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return nil, antBadf("messages.%d: all messages must have non-empty content except for the optional final assistant message", i)
		}
		return []antBlock{{Type: "text", Text: s}}, nil
	}
	var blocks []antBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return nil, antBadf("messages.%d.content: Input should be a valid list", i)
	}
	if len(blocks) == 0 {
		return nil, antBadf("messages.%d: all messages must have non-empty content except for the optional final assistant message", i)
	}
	for j, b := range blocks {
		if b.Type == "text" && b.Text == "" {
			return nil, antBadf("messages.%d.content.%d.text: text content blocks must be non-empty", i, j)
		}
		if b.Type == "image" {
			if err := antImage(i, j, b.Source); err != nil {
				return nil, err
			}
		}
	}
	return blocks, nil
}

// antTurn converts one merged turn; pending are the previous assistant turn's tool_use ids.
func antTurn(i int, m antMerged, pending map[string]bool) ([]ChatPromptMessage, *antBad) {
	if m.role == "assistant" {
		if len(pending) > 0 {
			return nil, antMissingResults(i, pending)
		}
		return antAssistant(i, m.blocks)
	}
	var out []ChatPromptMessage
	var texts, images []string
	for j, b := range m.blocks {
		switch b.Type {
		case "text":
			texts = append(texts, b.Text)
		case "image":
			images = append(images, b.Source.MediaType)
		case "tool_result":
			if !pending[b.ToolUseID] {
				return nil, antBadf("messages.%d.content.%d: unexpected `tool_use_id` found in `tool_result` blocks: %s. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", i, j, b.ToolUseID)
			}
			delete(pending, b.ToolUseID)
			text, _ := antBlocksText(b.Content)
			out = append(out, ChatPromptMessage{Role: "tool", Content: text, ToolCallID: b.ToolUseID, IsError: b.IsError})
		}
	}
	if len(pending) > 0 {
		return nil, antMissingResults(i, pending)
	}
	if len(texts) > 0 || len(images) > 0 {
		out = append(out, ChatPromptMessage{Role: "user", Content: strings.Join(texts, "\n"), Images: images})
	}
	return out, nil
}

func antAssistant(i int, blocks []antBlock) ([]ChatPromptMessage, *antBad) {
	pm := ChatPromptMessage{Role: "assistant"}
	var texts []string
	for j, b := range blocks {
		switch b.Type {
		case "text":
			texts = append(texts, b.Text)
		case "tool_use":
			if b.ID == "" || b.Name == "" {
				return nil, antBadf("messages.%d.content.%d.tool_use: id and name are required", i, j)
			}
			if len(b.Input) == 0 || b.Input[0] != '{' {
				return nil, antBadf("messages.%d.content.%d.tool_use.input: Input should be a valid dictionary", i, j)
			}
			pm.ToolCalls = append(pm.ToolCalls, ChatToolCall{ID: b.ID, Name: b.Name, Arguments: string(b.Input)})
		case "tool_result":
			return nil, antBadf("messages.%d.content.%d: tool_result blocks are only allowed in user messages", i, j)
		case "image":
			return nil, antBadf("messages.%d.content.%d: image blocks are only allowed in user messages", i, j)
		}
	}
	pm.Content = strings.Join(texts, "\n")
	return []ChatPromptMessage{pm}, nil
}

func antMissingResults(i int, pending map[string]bool) *antBad {
	ids := make([]string, 0, len(pending))
	for id := range pending {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return antBadf("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s. Each `tool_use` block must have a corresponding `tool_result` block in the next message.", i, strings.Join(ids, ", "))
}

// antBlocksText reads a tool_result content: a string or text blocks.
func antBlocksText(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var blocks []antBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return "", false
	}
	var texts []string
	for _, b := range blocks {
		texts = append(texts, b.Text)
	}
	return strings.Join(texts, "\n"), true
}

func antInputTokens(p ChatPrompt) int {
	parts := []string{p.System}
	for _, m := range p.Messages {
		parts = append(parts, m.Content)
	}
	return chatTokens(parts...) + len(p.Messages)
}

// antImage checks an image block's base64 source: a supported media type and valid data.
func antImage(i, j int, src *antSource) *antBad {
	at := fmt.Sprintf("messages.%d.content.%d.image.source", i, j)
	switch {
	case src == nil:
		return antBadf("%s: Field required", at)
	case src.Type != "base64":
		return antBadf("%s: Input tag '%s' found using 'type' does not match any of the expected tags: 'base64', 'url'", at, src.Type)
	}
	switch src.MediaType {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
	default:
		return antBadf("%s.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'", at)
	}
	if _, err := base64.StdEncoding.DecodeString(src.Data); err != nil || src.Data == "" {
		return antBadf("%s.base64.data: Image data is not valid base64", at)
	}
	return nil
}
