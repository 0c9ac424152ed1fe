package wiretest

import (
	"fmt"
	"math"
)

// cfRange bounds one numeric generation parameter (llama-3.1/3.3 schemas, wire doc §2.2).
type cfRange struct {
	key     string
	lo, hi  float64
	integer bool
}

var cfGenRanges = []cfRange{
	{"max_tokens", 1, math.Inf(1), true},
	{"temperature", 0, 5, false},
	{"top_p", 0, 2, false},
	{"top_k", 1, 50, true},
	{"seed", 1, 9999999999, true},
	{"repetition_penalty", 0, 2, false},
	{"frequency_penalty", 0, 2, false},
	{"presence_penalty", 0, 2, false},
}

// cfParseGen validates a text-generation body; a non-empty second result is the 5006 detail.
func cfParseGen(in map[string]any, m cfModel) (cfGen, string) {
	g := cfGen{maxTokens: cfDefaultMaxTokens}
	_, hasPrompt := in["prompt"]
	_, hasMessages := in["messages"]
	if hasPrompt == hasMessages {
		n := 0
		if hasPrompt {
			n = 2
		}
		return g, fmt.Sprintf("oneOf at '/' not met, %d matches: required properties at '/' are 'prompt', required properties at '/' are 'messages'", n)
	}
	if bad := g.parseTurns(in); bad != "" {
		return g, bad
	}
	if bad := g.parseParams(in, m); bad != "" {
		return g, bad
	}
	if bad := g.parseImage(in, m); bad != "" {
		return g, bad
	}
	if bad := g.parseFormat(in); bad != "" {
		return g, bad
	}
	return g, g.parseTools(in)
}

// parseTurns reads prompt or messages.
func (g *cfGen) parseTurns(in map[string]any) string {
	if p, ok := in["prompt"]; ok {
		s, isStr := p.(string)
		switch {
		case !isStr:
			return "Type mismatch of '/prompt', 'string' not in " + cfTypeName(p)
		case s == "":
			return "String is too short at '/prompt' (minLength 1)"
		}
		g.prompt = s
		return ""
	}
	list, ok := in["messages"].([]any)
	if !ok || len(list) == 0 {
		return "Type mismatch of '/messages', expected a non-empty array"
	}
	for i, item := range list {
		msg, ok := item.(map[string]any)
		if !ok {
			return fmt.Sprintf("Type mismatch of '/messages/%d', 'object' not in %s", i, cfTypeName(item))
		}
		role, _ := msg["role"].(string)
		switch role {
		case "system", "user", "assistant", "tool":
		default:
			return fmt.Sprintf("Value of '/messages/%d/role' must be one of system, user, assistant, tool", i)
		}
		content, isStr := msg["content"].(string)
		if !isStr {
			return fmt.Sprintf("oneOf at '/' not met, Type mismatch of '/messages/%d/content', 'string' not in %s", i, cfTypeName(msg["content"]))
		}
		if len(content) > 131072 {
			return fmt.Sprintf("String is too long at '/messages/%d/content' (maxLength 131072)", i)
		}
		g.messages = append(g.messages, cfMsg{role: role, content: content})
	}
	return ""
}

// parseImage checks the image of a vision model: the published schema
// (llama-3.2-11b-vision-instruct) takes an array of numbers; the emulator also holds them
// to byte values. Models without image in their schema refuse it.
func (g *cfGen) parseImage(in map[string]any, m cfModel) string {
	v, ok := in["image"]
	if !ok {
		return ""
	}
	if !m.vision {
		return "Unknown property '/image': this model's input schema takes no image"
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return "Type mismatch of '/image', expected a non-empty array of numbers"
	}
	for i, b := range list {
		f, isNum := b.(float64)
		if !isNum || f != math.Trunc(f) || f < 0 || f > 255 {
			return fmt.Sprintf("Value at '/image/%d' is not a byte value (0 to 255)", i)
		}
	}
	return ""
}

// parseParams checks types and ranges of the sampling parameters.
func (g *cfGen) parseParams(in map[string]any, m cfModel) string {
	for _, r := range cfGenRanges {
		v, ok := in[r.key]
		if !ok {
			continue
		}
		f, isNum := v.(float64)
		if !isNum || (r.integer && f != math.Trunc(f)) {
			want := "number"
			if r.integer {
				want = "integer"
			}
			return fmt.Sprintf("Type mismatch of '/%s', '%s' not in %s", r.key, want, cfTypeName(v))
		}
		lo := r.lo
		if r.key == "frequency_penalty" || r.key == "presence_penalty" {
			lo = min(lo, m.penaltyMin)
		}
		if f < lo || f > r.hi {
			return fmt.Sprintf("Value out of range at '/%s': %v not in [%v, %v]", r.key, f, lo, r.hi)
		}
		if r.key == "max_tokens" {
			g.maxTokens = int(f)
		}
	}
	if s, ok := in["stream"]; ok {
		b, isBool := s.(bool)
		if !isBool {
			return "Type mismatch of '/stream', 'boolean' not in " + cfTypeName(s)
		}
		g.stream = b
	}
	return ""
}

// parseFormat reads response_format (wire doc §2.4); JSON mode refuses streaming.
func (g *cfGen) parseFormat(in map[string]any) string {
	raw, ok := in["response_format"]
	if !ok {
		return ""
	}
	rf, ok := raw.(map[string]any)
	if !ok {
		return "Type mismatch of '/response_format', 'object' not in " + cfTypeName(raw)
	}
	switch rf["type"] {
	case "json_object":
	case "json_schema":
		schema, ok := rf["json_schema"].(map[string]any)
		if !ok {
			return "required properties at '/response_format' are 'json_schema' (an object: the schema itself)"
		}
		g.jsonSchema = schema
	default:
		return "Value of '/response_format/type' must be one of json_object, json_schema"
	}
	if g.stream {
		return "JSON mode does not support streaming"
	}
	g.jsonMode = true
	return ""
}

// parseTools checks tools in both accepted forms (wire doc §2.5).
func (g *cfGen) parseTools(in map[string]any) string {
	raw, ok := in["tools"]
	if !ok {
		return ""
	}
	if g.prompt != "" {
		return "oneOf at '/' not met: 'tools' requires the messages form"
	}
	list, ok := raw.([]any)
	if !ok {
		return "Type mismatch of '/tools', 'array' not in " + cfTypeName(raw)
	}
	for i, item := range list {
		t, bad := cfParseTool(item, fmt.Sprintf("/tools/%d", i))
		if bad != "" {
			return bad
		}
		g.tools = append(g.tools, t)
	}
	return ""
}

func cfParseTool(item any, at string) (cfTool, string) {
	obj, _ := item.(map[string]any)
	if fn, ok := obj["function"].(map[string]any); ok && obj["type"] == "function" {
		obj, at = fn, at+"/function"
	}
	name, _ := obj["name"].(string)
	desc, _ := obj["description"].(string)
	params, _ := obj["parameters"].(map[string]any)
	if name == "" || desc == "" || params == nil {
		return cfTool{}, fmt.Sprintf("required properties at '%s' are 'name', 'description', 'parameters'", at)
	}
	props, ok := params["properties"].(map[string]any)
	if _, hasType := params["type"].(string); !hasType || !ok {
		return cfTool{}, fmt.Sprintf("required properties at '%s/parameters' are 'type', 'properties'", at)
	}
	for k, v := range props {
		p, _ := v.(map[string]any)
		_, hasType := p["type"].(string)
		_, hasDesc := p["description"].(string)
		if !hasType || !hasDesc {
			return cfTool{}, fmt.Sprintf("required properties at '%s/parameters/properties/%s' are 'type', 'description'", at, k)
		}
	}
	return cfTool{name: name, props: props}, ""
}

// cfTypeName names a decoded JSON value's type the way the schema errors do.
func cfTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "'null'"
	case string:
		return "'string'"
	case float64:
		return "'number'"
	case bool:
		return "'boolean'"
	case []any:
		return "'array'"
	case map[string]any:
		return "'object'"
	}
	return "'unknown'"
}

// cfString reads a required non-empty string field.
func cfString(in map[string]any, key string) (string, string) {
	v, ok := in[key]
	if !ok {
		return "", fmt.Sprintf("required properties at '/' are '%s'", key)
	}
	s, isStr := v.(string)
	if !isStr {
		return "", fmt.Sprintf("Type mismatch of '/%s', 'string' not in %s", key, cfTypeName(v))
	}
	if s == "" {
		return "", fmt.Sprintf("String is too short at '/%s' (minLength 1)", key)
	}
	return s, ""
}
