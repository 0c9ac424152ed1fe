package workersai

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

// maxEventLine bounds one SSE line.
const maxEventLine = 8 << 20

// generateStream runs a streaming generation (wire doc §2.6). Text deltas reach
// req.Stream as they arrive; the response is returned only once `data: [DONE]` was read.
// A stream cut before it is an error, retryable only when no delta had been delivered,
// and the partial text is not returned.
func (p *Provider) generateStream(ctx context.Context, c call, req providers.GenerateRequest, maxTokens int) (providers.GenerateResponse, error) {
	resp, err := p.send(transport.Streaming(ctx), c)
	if err != nil {
		return providers.GenerateResponse{}, err
	}
	defer resp.Body.Close()
	meta := p.meta(resp, c.model)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return p.unstreamed(resp, c, req, maxTokens, meta)
	}
	acc := &streamAcc{emit: req.Stream, limit: transport.OutputLimit(maxTokens)}
	err = readEvents(resp.Body, acc.event)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return providers.GenerateResponse{}, ctxErr
	}
	if err == nil && !acc.done {
		err = io.ErrUnexpectedEOF
	}
	if acc.overrun {
		return providers.GenerateResponse{}, transport.OutputOverrun(Kind, c.model, maxTokens)
	}
	if err != nil {
		return providers.GenerateResponse{}, p.cut(c.model, acc.delivered, err)
	}
	out, err := acc.result().response(req, maxTokens)
	if err != nil {
		return providers.GenerateResponse{}, err
	}
	out.Meta = meta
	return out, nil
}

// unstreamed handles a JSON answer to a streaming request (some models ignore stream).
func (p *Provider) unstreamed(resp *http.Response, c call, req providers.GenerateRequest, maxTokens int, meta providers.Meta) (providers.GenerateResponse, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return providers.GenerateResponse{}, p.cut(c.model, 0, err)
	}
	var res genResult
	raw := json.RawMessage(body)
	if !c.chat {
		var env envelope
		if err := json.Unmarshal(body, &env); err != nil {
			return providers.GenerateResponse{}, p.badResponse(c.model, err, body)
		}
		if !env.Success || len(env.Errors) > 0 {
			return providers.GenerateResponse{}, p.envelopeError(c.model, resp.StatusCode, env.Errors)
		}
		raw = env.Result
	}
	if err := p.decode(c.model, raw, &res); err != nil {
		return providers.GenerateResponse{}, err
	}
	out, err := res.response(req, maxTokens)
	if err != nil {
		return providers.GenerateResponse{}, err
	}
	out.Meta = meta
	if out.Text != "" {
		req.Stream(out.Text)
	}
	return out, nil
}

// cut is the error for a stream that ended without [DONE].
func (p *Provider) cut(model string, delivered int, err error) error {
	var pe *providers.Error
	if errors.As(err, &pe) {
		return pe
	}
	msg := fmt.Sprintf("stream ended before [DONE] after %d text deltas: %v", delivered, err)
	return &providers.Error{Provider: Kind, Model: model, Message: msg, Retryable: delivered == 0, Err: err}
}

// readEvents calls fn with the data of each server-sent event. Multi-line data is joined
// with newlines; comments and other fields are ignored.
func readEvents(r io.Reader, fn func(data []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxEventLine)
	var data []byte
	pending := false
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if pending {
				if err := fn(data); err != nil {
					return err
				}
			}
			data, pending = data[:0], false
			continue
		}
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if pending {
				data = append(data, '\n')
			}
			data, pending = append(data, bytes.TrimPrefix(v, []byte(" "))...), true
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if pending {
		return fn(data)
	}
	return nil
}

// errOverrun stops reading a stream whose output passed its limit.
var errOverrun = errors.New("output past the max_tokens bound")

// streamAcc accumulates a stream in either event shape.
type streamAcc struct {
	emit      func(string)
	text      strings.Builder
	delivered int
	limit     int64 // output bytes allowed (transport.OutputLimit); 0 = no bound
	output    int64 // text and tool-call bytes so far
	overrun   bool
	calls     []*streamCall
	byIndex   map[int]*streamCall // calls by their wire index
	last      *streamCall         // the call the latest fragment went to
	usage     *wireUsage
	finish    string
	done      bool
}

// streamEvent is one event: native {"response", "tool_calls", "usage", "p"} or an OpenAI
// chat.completion.chunk.
type streamEvent struct {
	Response  *string        `json:"response"`
	ToolCalls []toolFragment `json:"tool_calls"`
	Usage     *wireUsage     `json:"usage"`
	Choices   []struct {
		Delta struct {
			Content   string         `json:"content"`
			ToolCalls []toolFragment `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Error  json.RawMessage `json:"error"`
	Errors []envelopeError `json:"errors"`
}

func (a *streamAcc) event(data []byte) error {
	if a.done {
		return nil
	}
	if string(bytes.TrimSpace(data)) == "[DONE]" {
		a.done = true
		return nil
	}
	var ev streamEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("malformed event %.80q: %w", data, err)
	}
	if len(ev.Errors) > 0 || (len(ev.Error) > 0 && string(ev.Error) != "null") {
		return &providers.Error{Provider: Kind, Message: "error event in stream: " + string(data), Retryable: a.delivered == 0}
	}
	if ev.Response != nil {
		a.deliver(*ev.Response)
	}
	for _, f := range ev.ToolCalls {
		a.fragment(f)
	}
	if ev.Usage != nil {
		a.usage = ev.Usage
	}
	for _, ch := range ev.Choices {
		a.deliver(ch.Delta.Content)
		for _, f := range ch.Delta.ToolCalls {
			a.fragment(f)
		}
		if ch.FinishReason != nil {
			a.finish = *ch.FinishReason
		}
	}
	if a.overrun {
		return errOverrun
	}
	return nil
}

// count adds n bytes of output and notes when they pass the limit.
func (a *streamAcc) count(n int) {
	a.output += int64(n)
	if a.limit > 0 && a.output > a.limit {
		a.overrun = true
	}
}

func (a *streamAcc) deliver(delta string) {
	if delta == "" || a.overrun {
		return
	}
	if a.count(len(delta)); a.overrun {
		return
	}
	a.text.WriteString(delta)
	a.delivered++
	if a.emit != nil {
		a.emit(delta)
	}
}

// toolFragment is one tool_calls entry of a stream event. Workers AI streams a call in
// pieces, in the native shape (top-level tool_calls) and the OpenAI one (delta.tool_calls)
// alike: a start {id, type, index, function:{name}}, argument deltas {index,
// function:{arguments:"…"}}, then a finaliser {id:null, type:null, function:{name:null}}
// (cloudflare/ai workers-ai-provider src/streaming.ts). Older models send whole calls
// {name, arguments:{…}} without an index.
type toolFragment struct {
	Index     *int            `json:"index"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	Function  *struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

// streamCall is a tool call being assembled from fragments.
type streamCall struct {
	id, name string
	args     strings.Builder
	closed   bool
}

// fragmentArgs is an arguments fragment as text: a string's content, an object's JSON.
func fragmentArgs(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

// fragment joins one tool-call fragment into the call it belongs to: the call at its
// index, or without an index the latest call unless the fragment names a new one. A
// finaliser closes the latest call, so a later fragment with a name starts another even
// at the same index. Arguments are appended to a builder and encoded once, by result:
// re-encoding per fragment made long arguments cost quadratic time and memory.
func (a *streamAcc) fragment(f toolFragment) {
	name, args := f.Name, fragmentArgs(f.Arguments)
	if f.Function != nil {
		if f.Function.Name != "" {
			name = f.Function.Name
		}
		if s := fragmentArgs(f.Function.Arguments); s != "" {
			args = s
		}
	}
	if f.ID == "" && name == "" && args == "" {
		if a.last != nil {
			a.last.closed = true
		}
		return
	}
	a.count(len(name) + len(args))
	starts := f.ID != "" || name != ""
	var cur *streamCall
	if f.Index != nil {
		cur = a.byIndex[*f.Index]
	} else {
		cur = a.last
	}
	if cur == nil || (cur.closed && starts) || (f.Index == nil && name != "" && cur.name != "") {
		cur = &streamCall{}
		a.calls = append(a.calls, cur)
		if f.Index != nil {
			if a.byIndex == nil {
				a.byIndex = map[int]*streamCall{}
			}
			a.byIndex[*f.Index] = cur
		}
	}
	if f.ID != "" {
		cur.id = f.ID
	}
	if name != "" {
		cur.name = name
	}
	cur.args.WriteString(args)
	a.last = cur
}

func unquoted(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// result assembles the accumulated stream as a genResult.
func (a *streamAcc) result() genResult {
	text, _ := json.Marshal(a.text.String())
	r := genResult{Response: text, Usage: a.usage}
	for _, c := range a.calls {
		fn := &wireFunction{Name: c.name}
		if c.args.Len() > 0 {
			fn.Arguments, _ = json.Marshal(c.args.String())
		}
		r.ToolCalls = append(r.ToolCalls, wireToolCall{ID: c.id, Function: fn})
	}
	if a.finish != "" {
		ch := genChoice{FinishReason: a.finish}
		s := a.text.String()
		ch.Message.Content = &s
		r.Choices = []genChoice{ch}
	}
	return r
}
