package wiretest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

func init() {
	registerCFRoute(cfRoute{http.MethodPost, "client/v4/accounts/{acct}/ai/v1/chat/completions", (*Cloudflare).serveChat})
	registerCFRoute(cfRoute{http.MethodPost, "v1/{acct}/{gateway}/workers-ai/v1/chat/completions", (*Cloudflare).serveGatewayChat})
}

// cfChatRequest is the subset of an OpenAI chat body the emulator reads (wire doc §3).
type cfChatRequest struct {
	Model         string          `json:"model"`
	Messages      []cfChatMessage `json:"messages"`
	MaxTokens     *int            `json:"max_tokens"`
	MaxCompletion *int            `json:"max_completion_tokens"`
	Stream        bool            `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools []struct {
		Function struct {
			Name       string         `json:"name"`
			Parameters map[string]any `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
}

type cfChatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// serveChat answers the OpenAI-compatible POST /ai/v1/chat/completions.
func (cf *Cloudflare) serveChat(w http.ResponseWriter, c *cfCall) {
	if !cf.authorized(w, c) {
		return
	}
	cf.chat(w, c)
}

// serveGatewayChat is the same endpoint behind AI Gateway (no caching emulated here).
func (cf *Cloudflare) serveGatewayChat(w http.ResponseWriter, c *cfCall) {
	gr := &CFGatewayRequest{Account: c.params["acct"], Gateway: c.params["gateway"], Provider: "workers-ai", CacheStatus: "MISS"}
	if !cf.gatewayAuthorized(w, c.r, gr) {
		return
	}
	if bad := cf.parseGatewayHeaders(c.r.Header, gr); bad != "" {
		cfGatewayError(w, http.StatusBadRequest, 2001, bad)
		return
	}
	gr.LogID = fmt.Sprintf("01EMULOG%018d", cf.logSeq.Add(1))
	w.Header().Set("cf-aig-log-id", gr.LogID)
	w.Header().Set("cf-aig-cache-status", "MISS")
	c.gateway = gr
	cf.logGateway(gr)
	cf.serveChat(w, c)
}

// chat validates the body, applies faults and answers with "echo: <last user turn>".
func (cf *Cloudflare) chat(w http.ResponseWriter, c *cfCall) {
	var req cfChatRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		cfBadInput(w, "Type mismatch of '/', 'object' not in 'string'")
		return
	}
	if _, ok := cfModels[req.Model]; !ok {
		cfNoModel(w, req.Model)
		return
	}
	last, bad := cfChatLast(req.Messages)
	if bad != "" {
		cfBadInput(w, bad)
		return
	}
	f := cf.Faults.next(c.r.URL.EscapedPath())
	if f != nil && !cfWait(c.r, f.Delay) {
		return
	}
	if f != nil && !f.CutStream {
		cfFault(w, f)
		return
	}
	if !cf.answer(c) {
		return
	}
	var in map[string]any
	_ = json.Unmarshal(c.body, &in)
	run := CFRun{Model: req.Model, Task: "chat", Input: in, Stream: req.Stream}
	if c.gateway != nil {
		run.Gateway = c.gateway.Gateway
	}
	res := cf.result(run, func() any { return cfDefaultChat(req, last) })
	if req.Stream {
		cf.chatStream(w, req, res, f != nil && f.CutStream)
		return
	}
	cfJSON(w, http.StatusOK, res)
}

// cfChatLast checks the turns and returns the last user or tool content.
func cfChatLast(msgs []cfChatMessage) (string, string) {
	if len(msgs) == 0 {
		return "", "required properties at '/' are 'messages' (non-empty)"
	}
	last := ""
	for i, m := range msgs {
		var s string
		if err := json.Unmarshal(m.Content, &s); err != nil && m.Role != "assistant" {
			return "", fmt.Sprintf("Type mismatch of '/messages/%d/content'", i)
		}
		if m.Role == "user" || m.Role == "tool" {
			last = s
		}
	}
	return last, ""
}

// cfDefaultChat is the OpenAI-shaped echo answer, cut to max_tokens words, or a call of
// the first tool (string arguments) when tools are offered and no tool result came back.
func cfDefaultChat(req cfChatRequest, last string) map[string]any {
	in := 0
	for _, m := range req.Messages {
		in += cfTokens(string(m.Content))
	}
	msg := map[string]any{"role": "assistant", "content": nil}
	finish := "stop"
	out := 0
	if len(req.Tools) > 0 && req.Messages[len(req.Messages)-1].Role == "user" {
		fn := req.Tools[0].Function
		args, _ := json.Marshal(cfExampleArgs(cfProps(fn.Parameters), last))
		msg["tool_calls"] = []any{map[string]any{"id": "call_emu_1", "type": "function",
			"function": map[string]any{"name": fn.Name, "arguments": string(args)}}}
		finish, out = "tool_calls", 8
	} else {
		words := strings.Fields("echo: " + last)
		if limit := cfChatLimit(req); limit > 0 && len(words) > limit {
			words, finish = words[:limit], "length"
		}
		msg["content"], out = strings.Join(words, " "), len(words)
	}
	return map[string]any{"id": "chatcmpl-emu", "object": "chat.completion", "created": 0, "model": req.Model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   cfUsage(in, out)}
}

func cfChatLimit(req cfChatRequest) int {
	switch {
	case req.MaxCompletion != nil:
		return *req.MaxCompletion
	case req.MaxTokens != nil:
		return *req.MaxTokens
	}
	return 0
}

func cfProps(params map[string]any) map[string]any {
	props, _ := params["properties"].(map[string]any)
	return props
}

// chatStream writes chat.completion.chunk events, the usage chunk when asked, and [DONE].
func (cf *Cloudflare) chatStream(w http.ResponseWriter, req cfChatRequest, res any, cut bool) {
	obj, _ := res.(map[string]any)
	choices, _ := obj["choices"].([]any)
	var text, finish string
	if len(choices) > 0 {
		ch, _ := choices[0].(map[string]any)
		msg, _ := ch["message"].(map[string]any)
		text, _ = msg["content"].(string)
		finish, _ = ch["finish_reason"].(string)
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	chunks := cfChunks(text)
	if cut {
		chunks = chunks[:max(1, len(chunks)/2)]
	}
	base := func(delta map[string]any, fin any) map[string]any {
		return map[string]any{"id": "chatcmpl-emu", "object": "chat.completion.chunk", "created": 0, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": fin}}}
	}
	for _, ch := range chunks {
		cfEvent(w, base(map[string]any{"content": ch}, nil))
	}
	if cut {
		return
	}
	cfEvent(w, base(map[string]any{}, finish))
	if req.StreamOptions.IncludeUsage {
		cfEvent(w, map[string]any{"id": "chatcmpl-emu", "object": "chat.completion.chunk", "choices": []any{}, "usage": obj["usage"]})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	cfFlush(w)
}
