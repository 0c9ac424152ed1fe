package openai

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"strings"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

// generateStream runs a streaming completion with usage reporting on.
func (p *Provider) generateStream(ctx context.Context, req providers.GenerateRequest, params oai.ChatCompletionNewParams,
	opts []option.RequestOption, httpResp **http.Response) (providers.GenerateResponse, error) {
	params.StreamOptions = oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)}
	watch := &doneWatcher{}
	opts = append(opts, option.WithMiddleware(watch.middleware))
	stream := p.chat.NewStreaming(transport.Streaming(ctx), params, opts...)
	defer stream.Close()
	maxTokens := int(params.MaxCompletionTokens.Or(params.MaxTokens.Or(0)))
	acc := streamAcc{calls: map[int64]*rawCall{}, limit: transport.OutputLimit(maxTokens)}
	for stream.Next() {
		if !acc.add(stream.Current(), req.Stream) {
			return providers.GenerateResponse{}, transport.OutputOverrun(p.kind, req.Model, maxTokens)
		}
	}
	if err := stream.Err(); err != nil {
		return providers.GenerateResponse{}, p.wrapError(err, req.Model)
	}
	if !watch.sawDone() {
		if err := ctx.Err(); err != nil {
			return providers.GenerateResponse{}, p.wrapError(err, req.Model)
		}
		return providers.GenerateResponse{}, &providers.Error{Provider: p.kind, Model: req.Model, Code: "stream_cut",
			Message: "stream ended before data: [DONE]; the partial answer was discarded", Retryable: true}
	}
	return p.finish(req, acc.generated(), *httpResp)
}

// streamAcc joins chunks: text in order, tool-call fragments per index.
type streamAcc struct {
	text, refusal strings.Builder
	finish, model string
	calls         map[int64]*rawCall
	args          map[int64]*strings.Builder // tool-call arguments being joined
	usage         oai.CompletionUsage
	limit, output int64 // output bytes allowed (transport.OutputLimit; 0 = no bound) and so far
}

// add takes one chunk; it reports false once the output passed the limit, and then
// keeps nothing more.
func (a *streamAcc) add(c oai.ChatCompletionChunk, emit func(string)) bool {
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue
		}
		a.output += int64(len(ch.Delta.Content) + len(ch.Delta.Refusal))
		for _, tc := range ch.Delta.ToolCalls {
			a.output += int64(len(tc.Function.Name) + len(tc.Function.Arguments))
		}
	}
	if a.limit > 0 && a.output > a.limit {
		return false
	}
	if c.Model != "" {
		a.model = c.Model
	}
	if c.Usage.TotalTokens > 0 || c.Usage.PromptTokens > 0 {
		a.usage = c.Usage
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue
		}
		if d := ch.Delta.Content; d != "" {
			a.text.WriteString(d)
			emit(d)
		}
		a.refusal.WriteString(ch.Delta.Refusal)
		for _, tc := range ch.Delta.ToolCalls {
			call := a.calls[tc.Index]
			if call == nil {
				call = &rawCall{}
				a.calls[tc.Index] = call
			}
			if tc.ID != "" {
				call.id = tc.ID
			}
			if call.name == "" {
				call.name = tc.Function.Name
			}
			a.joinArgs(tc.Index, tc.Function.Arguments)
		}
		if ch.FinishReason != "" {
			a.finish = ch.FinishReason
		}
	}
	return true
}

// joinArgs appends an arguments fragment in amortised constant time (joining strings
// with + copied every earlier fragment again, quadratic in the arguments' length).
func (a *streamAcc) joinArgs(index int64, part string) {
	if a.args == nil {
		a.args = map[int64]*strings.Builder{}
	}
	b := a.args[index]
	if b == nil {
		b = &strings.Builder{}
		a.args[index] = b
	}
	b.WriteString(part)
}

func (a *streamAcc) generated() generated {
	idx := make([]int64, 0, len(a.calls))
	for i := range a.calls {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(i, j int) bool { return idx[i] < idx[j] })
	g := generated{text: a.text.String(), refusal: a.refusal.String(), finish: a.finish, model: a.model, usage: a.usage}
	for _, i := range idx {
		call := *a.calls[i]
		if b := a.args[i]; b != nil {
			call.args = b.String()
		}
		g.calls = append(g.calls, call)
	}
	return g
}

// doneWatcher notes whether a stream's body carried the `data: [DONE]` line. The SDK's
// stream ends the same way on [DONE] and on a body that simply stops, so the body is
// watched as it is read.
type doneWatcher struct {
	rc       io.ReadCloser
	line     []byte
	overflow bool
	done     bool
}

// maxDoneLine bounds the partial line kept: longer lines cannot be the terminator.
const maxDoneLine = 32

func (w *doneWatcher) middleware(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	resp, err := next(req)
	if err == nil && resp != nil && resp.Body != nil {
		w.rc = resp.Body
		resp.Body = w
	}
	return resp, err
}

func (w *doneWatcher) Read(b []byte) (int, error) {
	n, err := w.rc.Read(b)
	w.scan(b[:n])
	if err == io.EOF {
		w.endLine()
	}
	return n, err
}

func (w *doneWatcher) Close() error { return w.rc.Close() }

func (w *doneWatcher) scan(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.keep(b)
			return
		}
		w.keep(b[:i])
		w.endLine()
		b = b[i+1:]
	}
}

func (w *doneWatcher) keep(b []byte) {
	if w.overflow || len(w.line)+len(b) > maxDoneLine {
		w.overflow = true
		return
	}
	w.line = append(w.line, b...)
}

func (w *doneWatcher) endLine() {
	if !w.overflow {
		line := strings.TrimSpace(string(w.line))
		if rest, ok := strings.CutPrefix(line, "data:"); ok && strings.TrimSpace(rest) == "[DONE]" {
			w.done = true
		}
	}
	w.line, w.overflow = w.line[:0], false
}

func (w *doneWatcher) sawDone() bool { return w.done }
