package wiretest

import (
	"encoding/json"
	"sort"
	"strings"
	"unicode/utf8"
)

// ChatPrompt is a chat request as the OpenAI and Anthropic emulators parsed it, handed to
// a ChatScript. System turns are joined into System; Messages keep the other turns in order.
type ChatPrompt struct {
	Model    string
	System   string
	Messages []ChatPromptMessage
	Tools    []ChatPromptTool
	// ForcedTool is the tool the request obliges the model to call (OpenAI
	// tool_choice function, Anthropic tool_choice tool), or "".
	ForcedTool string
	// JSONSchema is the OpenAI response_format json_schema's schema, or nil.
	JSONSchema map[string]any
	// JSONObject reports an OpenAI response_format of type json_object.
	JSONObject bool
	Stream     bool
	MaxTokens  int
}

// ChatPromptMessage is one non-system turn. Content joins the turn's text parts; for a
// tool result it is the result's text.
type ChatPromptMessage struct {
	Role       string // user, assistant, tool (OpenAI) or the tool_result's user turn (Anthropic: role "tool")
	Content    string
	ToolCalls  []ChatToolCall
	ToolCallID string
	IsError    bool
	// Images are the media types of the images a user turn carries (vision), in order.
	Images []string
}

// ChatPromptTool is one offered tool.
type ChatPromptTool struct {
	Name   string
	Schema map[string]any
}

// ChatToolCall is a tool call in a scripted reply or a prompt's assistant turn.
// Arguments is the raw JSON text the emulator sends; it need not be valid JSON.
type ChatToolCall struct {
	ID        string
	Name      string
	Arguments string
}

// ChatTurn is a scripted model's answer.
type ChatTurn struct {
	Text      string
	ToolCalls []ChatToolCall
	// FinishReason overrides the native stop reason ("stop"/"tool_calls" for OpenAI,
	// "end_turn"/"tool_use" for Anthropic) when set.
	FinishReason string
}

// ChatScript decides a model's answer from the parsed request. Emulators call it
// concurrently; it must be safe for that.
type ChatScript func(ChatPrompt) ChatTurn

// LastUser returns the content of the prompt's last user turn, or "".
func (p ChatPrompt) LastUser() string {
	for i := len(p.Messages) - 1; i >= 0; i-- {
		if p.Messages[i].Role == "user" {
			return p.Messages[i].Content
		}
	}
	return ""
}

// ToolResults returns the tool-result turns after the last assistant turn (the answers
// to its calls), in order.
func (p ChatPrompt) ToolResults() []ChatPromptMessage {
	var out []ChatPromptMessage
	for i := len(p.Messages) - 1; i >= 0 && p.Messages[i].Role != "assistant"; i-- {
		if p.Messages[i].Role == "tool" {
			out = append([]ChatPromptMessage{p.Messages[i]}, out...)
		}
	}
	return out
}

// EchoScript is the emulators' default model: it answers "echo: <last user message>",
// calls a forced tool with arguments built from the tool's schema, and answers a JSON
// schema request with an instance of the schema whose strings are the last user message.
func EchoScript(p ChatPrompt) ChatTurn {
	if p.ForcedTool != "" {
		for _, t := range p.Tools {
			if t.Name == p.ForcedTool {
				args, _ := json.Marshal(ExampleFor(t.Schema, p.LastUser()))
				return ChatTurn{ToolCalls: []ChatToolCall{{Name: t.Name, Arguments: string(args)}}}
			}
		}
	}
	if p.JSONSchema != nil {
		out, _ := json.Marshal(ExampleFor(p.JSONSchema, p.LastUser()))
		return ChatTurn{Text: string(out)}
	}
	if p.JSONObject {
		out, _ := json.Marshal(map[string]string{"echo": p.LastUser()})
		return ChatTurn{Text: string(out)}
	}
	return ChatTurn{Text: "echo: " + p.LastUser()}
}

// ExampleFor builds a deterministic instance of a JSON schema: objects get every
// property (sorted), strings become text, numbers 1, booleans true, arrays one item.
// It understands type, properties, items, enum and const; anything else becomes text.
func ExampleFor(schema map[string]any, text string) any {
	if c, ok := schema["const"]; ok {
		return c
	}
	if enum, ok := schema["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	typ, _ := schema["type"].(string)
	if types, ok := schema["type"].([]any); ok && len(types) > 0 {
		typ, _ = types[0].(string)
	}
	switch typ {
	case "object":
		return exampleObjectFor(schema, text)
	case "array":
		items, _ := schema["items"].(map[string]any)
		return []any{ExampleFor(items, text)}
	case "integer", "number":
		return 1
	case "boolean":
		return true
	case "null":
		return nil
	}
	if _, ok := schema["properties"]; ok {
		return exampleObjectFor(schema, text)
	}
	return text
}

func exampleObjectFor(schema map[string]any, text string) map[string]any {
	props, _ := schema["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(map[string]any, len(names))
	for _, n := range names {
		sub, _ := props[n].(map[string]any)
		out[n] = ExampleFor(sub, text)
	}
	return out
}

// chatTokens is the emulators' token count: whitespace-separated words, at least 1.
func chatTokens(parts ...string) int {
	n := 0
	for _, p := range parts {
		n += len(strings.Fields(p))
	}
	return max(n, 1)
}

// chatFragments cuts s into pieces of at most n bytes (rune-safe), so streamed fragments
// parse only when joined.
func chatFragments(s string, n int) []string {
	var out []string
	for len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if cut == 0 {
			cut = n
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// chatWordDeltas cuts text into word-sized deltas that keep their leading spaces.
func chatWordDeltas(s string) []string {
	var out []string
	start := 0
	for i := 1; i < len(s); i++ {
		if s[i] == ' ' && s[i-1] != ' ' {
			out = append(out, s[start:i])
			start = i
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
