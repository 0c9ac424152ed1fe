package wiretest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// antReply renders one scripted turn as a message or an event stream.
type antReply struct {
	id, model    string
	turn         ChatTurn
	inputTokens  int
	outputTokens int
}

func (r antReply) stopReason() string {
	switch {
	case r.turn.FinishReason != "":
		return r.turn.FinishReason
	case len(r.turn.ToolCalls) > 0:
		return "tool_use"
	}
	return "end_turn"
}

// antToolInput is a call's input object; arguments that are not a JSON object are sent as a
// string, which a client must reject.
func antToolInput(args string) any {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(args), &obj) == nil && obj != nil {
		return json.RawMessage(args)
	}
	return args
}

func (r antReply) content() []map[string]any {
	var out []map[string]any
	if r.turn.Text != "" || len(r.turn.ToolCalls) == 0 {
		out = append(out, map[string]any{"type": "text", "text": r.turn.Text})
	}
	for _, c := range r.turn.ToolCalls {
		out = append(out, map[string]any{"type": "tool_use", "id": c.ID, "name": c.Name, "input": antToolInput(c.Arguments)})
	}
	return out
}

func (r antReply) usage(output int) map[string]any {
	return map[string]any{"input_tokens": r.inputTokens, "output_tokens": output,
		"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
}

// json writes a message object; a CutStream fault sends only half of it.
func (r antReply) json(w http.ResponseWriter, f *Fault) {
	out, _ := json.Marshal(map[string]any{"id": r.id, "type": "message", "role": "assistant",
		"model": r.model, "content": r.content(), "stop_reason": r.stopReason(), "stop_sequence": nil,
		"usage": r.usage(r.outputTokens)})
	if f != nil && f.CutStream {
		out = out[:len(out)/2]
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

type antEvent struct {
	typ  string
	data map[string]any
}

// events builds the full stream: message_start, ping, each block's start, deltas and
// stop (another ping after the first block), message_delta and message_stop.
func (r antReply) events() []antEvent {
	ev := func(typ string, kv ...any) antEvent {
		data := map[string]any{"type": typ}
		for i := 0; i+1 < len(kv); i += 2 {
			data[kv[i].(string)] = kv[i+1]
		}
		return antEvent{typ: typ, data: data}
	}
	msg := map[string]any{"id": r.id, "type": "message", "role": "assistant", "content": []any{},
		"model": r.model, "stop_reason": nil, "stop_sequence": nil, "usage": r.usage(1)}
	out := []antEvent{ev("message_start", "message", msg), ev("ping")}
	idx := 0
	if r.turn.Text != "" || len(r.turn.ToolCalls) == 0 {
		out = append(out, ev("content_block_start", "index", idx, "content_block", map[string]any{"type": "text", "text": ""}))
		for _, d := range chatWordDeltas(r.turn.Text) {
			out = append(out, ev("content_block_delta", "index", idx, "delta", map[string]any{"type": "text_delta", "text": d}))
		}
		out = append(out, ev("content_block_stop", "index", idx), ev("ping"))
		idx++
	}
	for _, c := range r.turn.ToolCalls {
		out = append(out, ev("content_block_start", "index", idx, "content_block",
			map[string]any{"type": "tool_use", "id": c.ID, "name": c.Name, "input": map[string]any{}}))
		frags := append([]string{""}, chatFragments(c.Arguments, 7)...)
		for _, p := range frags {
			out = append(out, ev("content_block_delta", "index", idx, "delta", map[string]any{"type": "input_json_delta", "partial_json": p}))
		}
		out = append(out, ev("content_block_stop", "index", idx))
		idx++
	}
	return append(out,
		ev("message_delta", "delta", map[string]any{"stop_reason": r.stopReason(), "stop_sequence": nil},
			"usage", map[string]any{"output_tokens": r.outputTokens}),
		ev("message_stop"))
}

// stream writes the events. A CutStream fault stops halfway without message_stop; a 200
// fault with a Code sends `event: error` halfway.
func (r antReply) stream(w http.ResponseWriter, f *Fault) {
	events := r.events()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	cut := -1
	if f != nil && (f.CutStream || f.Code != "") {
		cut = max(len(events)/2, 1)
	}
	for i, e := range events {
		if i == cut {
			if f.Code != "" {
				msg := f.Message
				if msg == "" {
					msg = "Overloaded"
				}
				b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]any{"type": f.Code, "message": msg}})
				fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
			}
			return
		}
		b, _ := json.Marshal(e.data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.typ, b)
		if flusher != nil {
			flusher.Flush()
		}
	}
}
