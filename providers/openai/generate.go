package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	oai "github.com/openai/openai-go/v3"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/providers/internal/sdkprovider"
)

// Generate runs one chat completion. With req.Stream set it streams (text deltas go to
// req.Stream as they arrive) and the response is only returned once the stream reached
// `data: [DONE]`; a stream that ends before it is an error, never a partial success.
func (p *Provider) Generate(ctx context.Context, req providers.GenerateRequest) (providers.GenerateResponse, error) {
	params, err := p.buildParams(req)
	if err != nil {
		return providers.GenerateResponse{}, p.requestError(req.Model, err)
	}
	var httpResp *http.Response
	opts, err := p.requestOptions(req.Gateway, &httpResp)
	if err != nil {
		return providers.GenerateResponse{}, p.requestError(req.Model, err)
	}
	if req.Stream != nil {
		return p.generateStream(ctx, req, params, opts, &httpResp)
	}
	completion, err := p.chat.New(ctx, params, opts...)
	if err != nil {
		return providers.GenerateResponse{}, p.wrapError(err, req.Model)
	}
	if len(completion.Choices) == 0 {
		return providers.GenerateResponse{}, p.outputError(req.Model, "no_choices", "response has no choices")
	}
	ch := completion.Choices[0]
	var calls []rawCall
	for _, tc := range ch.Message.ToolCalls {
		calls = append(calls, rawCall{id: tc.ID, name: tc.Function.Name, args: tc.Function.Arguments})
	}
	out := generated{text: ch.Message.Content, refusal: ch.Message.Refusal, finish: ch.FinishReason, calls: calls,
		model: completion.Model, usage: completion.Usage}
	return p.finish(req, out, httpResp)
}

// requestError is a request this provider refuses to send.
func (p *Provider) requestError(model string, err error) error {
	return &providers.Error{Provider: p.kind, Model: model, Code: "invalid_request", Message: err.Error(), Err: err}
}

// rawCall is a tool call as received: arguments still a JSON string.
type rawCall struct{ id, name, args string }

// generated is what a completion or a finished stream produced.
type generated struct {
	text, refusal, finish, model string
	calls                        []rawCall
	usage                        oai.CompletionUsage
}

// finish checks and converts a completed generation.
func (p *Provider) finish(req providers.GenerateRequest, g generated, httpResp *http.Response) (providers.GenerateResponse, error) {
	if g.refusal != "" {
		return providers.GenerateResponse{}, p.outputError(req.Model, "refusal", "model refused: "+g.refusal)
	}
	calls, err := p.toolCalls(req.Model, g.calls)
	if err != nil {
		return providers.GenerateResponse{}, err
	}
	out := providers.GenerateResponse{Text: g.text, ToolCalls: calls, FinishReason: g.finish,
		Usage: p.usage(req.Model, g.usage), Meta: sdkprovider.ResponseMeta(httpResp, g.model, metaHeaders)}
	if req.JSONSchema != nil && len(calls) == 0 {
		if out.JSON, err = p.parseJSON(req.Model, g.text, g.finish); err != nil {
			return providers.GenerateResponse{}, err
		}
	}
	return out, nil
}

// toolCalls parses each call's arguments string into a JSON object.
func (p *Provider) toolCalls(model string, raw []rawCall) ([]providers.ToolCall, error) {
	var out []providers.ToolCall
	for _, c := range raw {
		args := strings.TrimSpace(c.args)
		if args == "" {
			args = "{}"
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(args), &obj); err != nil || obj == nil {
			return nil, p.outputError(model, "invalid_tool_arguments",
				fmt.Sprintf("tool call %s (%s): arguments are not a JSON object: %s", c.name, c.id, sdkprovider.Shorten(args)))
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(args)); err != nil {
			return nil, p.outputError(model, "invalid_tool_arguments", err.Error())
		}
		out = append(out, providers.ToolCall{ID: c.id, Name: c.name, Arguments: buf.Bytes()})
	}
	return out, nil
}

// parseJSON decodes the text of a JSON-schema request.
func (p *Provider) parseJSON(model, text, finish string) (any, error) {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		msg := fmt.Sprintf("response is not valid JSON (%v): %s", err, sdkprovider.Shorten(text))
		if finish == "length" {
			msg = "response was cut at the token limit before the JSON was complete: " + sdkprovider.Shorten(text)
		}
		return nil, p.outputError(model, "invalid_json", msg)
	}
	return v, nil
}

// usage converts token counts and prices them from the catalogue when the model is known.
func (p *Provider) usage(model string, u oai.CompletionUsage) providers.Usage {
	out := providers.Usage{InputTokens: int(u.PromptTokens), OutputTokens: int(u.CompletionTokens),
		CachedTokens: int(u.PromptTokensDetails.CachedTokens), Requests: 1}
	out.USD, out.Neurons = price(model, out.InputTokens, out.OutputTokens)
	return out
}

// price looks the model up in the catalogue: a compat "provider/model" name under that
// provider, an "@cf/…" id under workers-ai. Unknown models cost 0 (unknown, not free).
func price(model string, in, out int) (usd, neurons float64) {
	kind, id := Kind, model
	if strings.HasPrefix(model, "@cf/") || strings.HasPrefix(model, "@hf/") {
		kind = "workers-ai"
	} else if prov, rest, ok := strings.Cut(model, "/"); ok {
		kind, id = prov, rest
	}
	m, ok := catalog.Lookup(kind, id)
	if !ok {
		return 0, 0
	}
	return m.Cost(in, out)
}
