package anthropic

import (
	"context"
	"net/http"
	"strings"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

// generateStream reads the SSE event sequence: message_start, per block
// content_block_start / _delta / _stop, message_delta (usage, stop reason) and the
// message_stop that success requires. Pings and unknown events are ignored; an error
// event ends the call with that error.
func (p *Provider) generateStream(ctx context.Context, model string, pl plan, opts []option.RequestOption,
	emit func(string), httpResp **http.Response) (providers.GenerateResponse, error) {
	stream := p.messages.NewStreaming(transport.Streaming(ctx), pl.params, opts...)
	defer stream.Close()
	maxTokens := int(pl.params.MaxTokens)
	acc := streamAcc{blocks: map[int64]*block{}, limit: transport.OutputLimit(maxTokens)}
	for stream.Next() {
		if !acc.add(stream.Current(), emit) {
			return providers.GenerateResponse{}, transport.OutputOverrun(p.kind, model, maxTokens)
		}
	}
	if err := stream.Err(); err != nil {
		return providers.GenerateResponse{}, p.wrapError(err, model)
	}
	if !acc.stopped {
		if err := ctx.Err(); err != nil {
			return providers.GenerateResponse{}, p.wrapError(err, model)
		}
		return providers.GenerateResponse{}, &providers.Error{Provider: p.kind, Model: model, Code: "stream_cut",
			Message: "stream ended before message_stop; the partial answer was discarded", Retryable: true}
	}
	return p.finish(model, pl, acc.answer(), *httpResp)
}

// block is one content block being streamed.
type block struct {
	typ, id, name string
	text          strings.Builder
}

// streamAcc joins the events of one message.
type streamAcc struct {
	blocks  map[int64]*block
	order   []int64
	model   string
	stop    string
	usage   tokens
	stopped bool
	limit   int64 // output bytes allowed (transport.OutputLimit); 0 = no bound
	output  int64 // text and tool input bytes so far
}

// add takes one event; it reports false once the output passed the limit, and then
// keeps nothing more.
func (a *streamAcc) add(ev sdk.MessageStreamEventUnion, emit func(string)) bool {
	if ev.Type == "content_block_delta" {
		a.output += int64(len(ev.Delta.Text) + len(ev.Delta.PartialJSON))
		if a.limit > 0 && a.output > a.limit {
			return false
		}
	}
	switch ev.Type {
	case "message_start":
		a.model = ev.Message.Model
		a.usage = usageOf(ev.Message.Usage)
	case "content_block_start":
		cb := ev.ContentBlock
		b := &block{typ: cb.Type, id: cb.ID, name: cb.Name}
		b.text.WriteString(cb.Text)
		a.blocks[ev.Index] = b
		a.order = append(a.order, ev.Index)
	case "content_block_delta":
		a.delta(ev, emit)
	case "message_delta":
		if ev.Delta.StopReason != "" {
			a.stop = string(ev.Delta.StopReason)
		}
		a.deltaUsage(ev.Usage)
	case "message_stop":
		a.stopped = true
	}
	return true
}

func (a *streamAcc) delta(ev sdk.MessageStreamEventUnion, emit func(string)) {
	b := a.blocks[ev.Index]
	if b == nil {
		return
	}
	switch ev.Delta.Type {
	case "text_delta":
		b.text.WriteString(ev.Delta.Text)
		if b.typ == "text" && ev.Delta.Text != "" {
			emit(ev.Delta.Text)
		}
	case "input_json_delta":
		b.text.WriteString(ev.Delta.PartialJSON)
	}
}

// deltaUsage takes message_delta's cumulative counts; zero fields keep earlier values.
func (a *streamAcc) deltaUsage(u sdk.MessageDeltaUsage) {
	if u.OutputTokens > 0 {
		a.usage.output = u.OutputTokens
	}
	if u.InputTokens > 0 {
		a.usage.input = u.InputTokens
	}
	if u.CacheReadInputTokens > 0 {
		a.usage.cacheRead = u.CacheReadInputTokens
	}
	if u.CacheCreationInputTokens > 0 {
		a.usage.cacheWrite = u.CacheCreationInputTokens
	}
}

// answer lays the blocks out in index order; tool_use inputs are parsed by finish.
func (a *streamAcc) answer() answer {
	out := answer{model: a.model, stop: a.stop, usage: a.usage}
	var text strings.Builder
	for _, i := range a.order {
		b := a.blocks[i]
		switch b.typ {
		case "text":
			text.WriteString(b.text.String())
		case "tool_use":
			out.calls = append(out.calls, rawCall{id: b.id, name: b.name, input: b.text.String()})
		}
	}
	out.text = text.String()
	return out
}
