package wiretest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// oaiCreated is the fixed `created` timestamp of every emulated completion.
const oaiCreated = 1767225600

// oaiReply renders one scripted turn as a completion or a chunk stream.
type oaiReply struct {
	id, model        string
	turn             ChatTurn
	promptTokens     int
	completionTokens int
}

func (r oaiReply) finishReason() string {
	switch {
	case r.turn.FinishReason != "":
		return r.turn.FinishReason
	case len(r.turn.ToolCalls) > 0:
		return "tool_calls"
	}
	return "stop"
}

func (r oaiReply) usage() map[string]any {
	return map[string]any{
		"prompt_tokens": r.promptTokens, "completion_tokens": r.completionTokens,
		"total_tokens":          r.promptTokens + r.completionTokens,
		"prompt_tokens_details": map[string]any{"cached_tokens": 0},
	}
}

// json writes a chat.completion object; a CutStream fault sends only half of it.
func (r oaiReply) json(w http.ResponseWriter, f *Fault) {
	msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
	if r.turn.Text != "" || len(r.turn.ToolCalls) == 0 {
		msg["content"] = r.turn.Text
	}
	if len(r.turn.ToolCalls) > 0 {
		var calls []map[string]any
		for _, c := range r.turn.ToolCalls {
			calls = append(calls, map[string]any{"id": c.ID, "type": "function",
				"function": map[string]any{"name": c.Name, "arguments": c.Arguments}})
		}
		msg["tool_calls"] = calls
	}
	out, _ := json.Marshal(map[string]any{
		"id": r.id, "object": "chat.completion", "created": oaiCreated, "model": r.model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": r.finishReason()}},
		"usage":   r.usage(), "system_fingerprint": "fp_wiretest",
	})
	w.Header().Set("Content-Type", "application/json")
	if f != nil && f.CutStream {
		out = out[:len(out)/2]
	}
	_, _ = w.Write(out)
}

// chunks builds the stream's chunk objects in order, without the usage chunk.
func (r oaiReply) chunks(includeUsage bool) []map[string]any {
	chunk := func(delta map[string]any, finish any) map[string]any {
		c := map[string]any{"id": r.id, "object": "chat.completion.chunk", "created": oaiCreated, "model": r.model,
			"system_fingerprint": "fp_wiretest",
			"choices":            []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}}
		if includeUsage {
			c["usage"] = nil
		}
		return c
	}
	out := []map[string]any{chunk(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil)}
	for _, d := range chatWordDeltas(r.turn.Text) {
		out = append(out, chunk(map[string]any{"content": d}, nil))
	}
	for _, tc := range r.toolCallDeltas() {
		out = append(out, chunk(map[string]any{"tool_calls": []any{tc}}, nil))
	}
	return append(out, chunk(map[string]any{}, r.finishReason()))
}

// toolCallDeltas announces every call (id, type, name, empty arguments), then sends the
// argument fragments interleaved across calls, so only per-index joining rebuilds them.
func (r oaiReply) toolCallDeltas() []map[string]any {
	var out []map[string]any
	frags := make([][]string, len(r.turn.ToolCalls))
	longest := 0
	for i, c := range r.turn.ToolCalls {
		out = append(out, map[string]any{"index": i, "id": c.ID, "type": "function",
			"function": map[string]any{"name": c.Name, "arguments": ""}})
		frags[i] = chatFragments(c.Arguments, 7)
		longest = max(longest, len(frags[i]))
	}
	for k := range longest {
		for i := range frags {
			if k < len(frags[i]) {
				out = append(out, map[string]any{"index": i, "function": map[string]any{"arguments": frags[i][k]}})
			}
		}
	}
	return out
}

// stream writes the chunks, the usage chunk when asked, and `data: [DONE]`. A CutStream
// fault stops halfway; a 200 fault with a Code sends an error event halfway.
func (r oaiReply) stream(w http.ResponseWriter, includeUsage bool, f *Fault) {
	events := r.chunks(includeUsage)
	if includeUsage {
		events = append(events, map[string]any{"id": r.id, "object": "chat.completion.chunk",
			"created": oaiCreated, "model": r.model, "choices": []any{}, "usage": r.usage()})
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	cut := -1
	if f != nil && (f.CutStream || f.Code != "") {
		cut = max(len(events)/2, 1)
	}
	for i, ev := range events {
		if i == cut {
			if f.Code != "" {
				b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": f.Message,
					"type": openAIErrorType(http.StatusInternalServerError, f.Code), "param": nil, "code": f.Code}})
				fmt.Fprintf(w, "data: %s\n\n", b)
			}
			return
		}
		b, _ := json.Marshal(ev)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}
