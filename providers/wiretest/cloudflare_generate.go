package wiretest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// cfDefaultMaxTokens is Workers AI's documented max_tokens default: longer answers are cut.
const cfDefaultMaxTokens = 256

// cfGen is a validated text-generation input.
type cfGen struct {
	prompt     string
	messages   []cfMsg
	maxTokens  int
	stream     bool
	jsonMode   bool
	jsonSchema map[string]any
	tools      []cfTool
}

type cfMsg struct{ role, content string }

type cfTool struct {
	name  string
	props map[string]any
}

// lastText is what the default model answers to: the prompt, else the last user or tool turn.
func (g cfGen) lastText() (string, string) {
	if g.prompt != "" {
		return "user", g.prompt
	}
	for i := len(g.messages) - 1; i >= 0; i-- {
		if r := g.messages[i].role; r == "user" || r == "tool" {
			return r, g.messages[i].content
		}
	}
	return "", ""
}

func (g cfGen) inputTokens() int {
	n := cfTokens(g.prompt)
	for _, m := range g.messages {
		n += cfTokens(m.content)
	}
	return n
}

// generate serves text generation (wire doc §2.2–2.6).
func (cf *Cloudflare) generate(w http.ResponseWriter, c *cfCall, run CFRun, m cfModel, cut bool) {
	g, bad := cfParseGen(run.Input, m)
	if bad != "" {
		cfBadInput(w, bad)
		return
	}
	run.Stream = g.stream
	if !cf.answer(c) {
		return
	}
	res := cf.result(run, func() any { return cf.defaultGen(g) })
	if g.stream {
		cf.stream(w, run.Model, res, cut)
		return
	}
	cfOK(w, res)
}

// defaultGen is the deterministic model: a tool call when tools are offered and no tool
// result came back yet, an example object in JSON mode, else "echo: <last user turn>",
// cut to max_tokens words.
func (cf *Cloudflare) defaultGen(g cfGen) map[string]any {
	role, last := g.lastText()
	in := g.inputTokens()
	switch {
	case len(g.tools) > 0 && role == "user":
		call := map[string]any{"name": g.tools[0].name, "arguments": cfExampleArgs(g.tools[0].props, last)}
		return map[string]any{"response": "", "tool_calls": []any{call}, "usage": cfUsage(in, 8)}
	case g.jsonMode:
		obj := cfExampleFor(g.jsonSchema, last)
		b, _ := json.Marshal(obj)
		var resp any = obj
		if cf.cfg.jsonString {
			resp = string(b)
		}
		return map[string]any{"response": resp, "usage": cfUsage(in, cfTokens(string(b)))}
	}
	words := strings.Fields("echo: " + last)
	if len(words) > g.maxTokens {
		words = words[:g.maxTokens]
	}
	return map[string]any{"response": strings.Join(words, " "), "tool_calls": []any{}, "usage": cfUsage(in, len(words))}
}

// cfExampleArgs fills a tool's properties: strings get text, numbers 1, booleans true.
func cfExampleArgs(props map[string]any, text string) map[string]any {
	return cfExampleFor(map[string]any{"type": "object", "properties": props}, text).(map[string]any)
}

// cfExampleFor builds a value matching a JSON schema deterministically.
func cfExampleFor(schema map[string]any, text string) any {
	switch schema["type"] {
	case "string":
		if enum, ok := schema["enum"].([]any); ok && len(enum) > 0 {
			return enum[0]
		}
		return text
	case "number", "integer":
		return 1
	case "boolean":
		return true
	case "array":
		items, _ := schema["items"].(map[string]any)
		if items == nil {
			return []any{}
		}
		return []any{cfExampleFor(items, text)}
	case "object", nil:
		props, _ := schema["properties"].(map[string]any)
		if props == nil && schema["type"] == nil {
			return map[string]any{"echo": text}
		}
		out := map[string]any{}
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub, _ := props[k].(map[string]any)
			out[k] = cfExampleFor(sub, text)
		}
		return out
	}
	return nil
}

// stream writes a generation as server-sent events (wire doc §2.6): text events with `p`
// padding, a final event with empty response and usage, then `data: [DONE]`. With cut,
// it stops after half of the text events.
func (cf *Cloudflare) stream(w http.ResponseWriter, model string, res any, cut bool) {
	obj, _ := res.(map[string]any)
	text, _ := obj["response"].(string)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	chunks := cfChunks(text)
	if cut {
		chunks = chunks[:max(1, len(chunks)/2)]
	}
	for i, ch := range chunks {
		cfEvent(w, cf.streamEvent(model, ch, i))
	}
	if cut {
		return
	}
	if tc, ok := obj["tool_calls"].([]any); ok {
		for _, frag := range cfToolFragments(tc) {
			cfEvent(w, cf.toolEvent(model, frag))
		}
	}
	last := map[string]any{"response": ""}
	if u, ok := obj["usage"]; ok {
		last["usage"] = u
	}
	cfEvent(w, last)
	fmt.Fprint(w, "data: [DONE]\n\n")
	cfFlush(w)
}

// streamEvent frames one text chunk in the configured style.
func (cf *Cloudflare) streamEvent(model, chunk string, i int) map[string]any {
	pad := "abcdefghijklmnopqrstuvwxyz0123456789"[:1+(i*7)%36]
	if cf.cfg.streamStyle == CFStreamOpenAI {
		return map[string]any{"id": "chatcmpl-emu", "object": "chat.completion.chunk", "created": 0, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": chunk}, "finish_reason": nil}},
			"p":       pad}
	}
	ev := map[string]any{"response": chunk, "p": pad}
	if i%2 == 1 {
		ev["tool_calls"] = []any{}
	}
	return ev
}

// cfToolFragments splits tool calls into the pieces Workers AI streams them in, as
// cloudflare/ai workers-ai-provider src/streaming.ts documents: a start chunk {id, type,
// index, function:{name}}, argument deltas {index, function:{arguments:"…"}} (the JSON
// text cut in two), then a finalising chunk {id:null, type:null, function:{name:null}}.
func cfToolFragments(calls []any) []map[string]any {
	var out []map[string]any
	for i, c := range calls {
		call, _ := c.(map[string]any)
		name, args := call["name"], call["arguments"]
		if fn, ok := call["function"].(map[string]any); ok {
			name, args = fn["name"], fn["arguments"]
		}
		text, ok := args.(string)
		if !ok {
			b, _ := json.Marshal(args)
			text = string(b)
		}
		id, _ := call["id"].(string)
		if id == "" {
			id = fmt.Sprintf("chatcmpl-tool-emu%d", i)
		}
		out = append(out, map[string]any{"id": id, "type": "function", "index": i, "function": map[string]any{"name": name}})
		half := len(text) / 2
		for _, part := range []string{text[:half], text[half:]} {
			out = append(out, map[string]any{"index": i, "function": map[string]any{"arguments": part}})
		}
		out = append(out, map[string]any{"id": nil, "type": nil, "function": map[string]any{"name": nil}})
	}
	return out
}

// toolEvent frames one tool-call fragment in the configured style.
func (cf *Cloudflare) toolEvent(model string, frag map[string]any) map[string]any {
	if cf.cfg.streamStyle == CFStreamOpenAI {
		return map[string]any{"id": "chatcmpl-emu", "object": "chat.completion.chunk", "created": 0, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"tool_calls": []any{frag}}, "finish_reason": nil}}}
	}
	return map[string]any{"response": "", "tool_calls": []any{frag}}
}

// cfChunks splits text into word-sized deltas that concatenate back to it.
func cfChunks(text string) []string {
	if text == "" {
		return []string{""}
	}
	var out []string
	for len(text) > 0 {
		i := strings.IndexByte(text[1:], ' ')
		if i < 0 {
			out = append(out, text)
			break
		}
		out = append(out, text[:i+1])
		text = text[i+1:]
	}
	return out
}

func cfEvent(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintf(w, "data: %s\n\n", b)
	cfFlush(w)
}

func cfFlush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func cfDuration(ns int64) time.Duration { return time.Duration(ns) }
