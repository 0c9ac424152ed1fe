package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	sdk "github.com/anthropics/anthropic-sdk-go"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/providers/internal/sdkprovider"
)

// Generate runs one Messages call. With req.Stream set it streams (text deltas go to
// req.Stream as they arrive) and succeeds only once message_stop arrived. Requests whose
// max_tokens is too large for a non-streaming call (the SDK's 10-minute rule) are
// streamed internally.
func (p *Provider) Generate(ctx context.Context, req providers.GenerateRequest) (providers.GenerateResponse, error) {
	pl, err := p.buildPlan(req)
	if err != nil {
		return providers.GenerateResponse{}, p.requestError(req.Model, err)
	}
	var httpResp *http.Response
	opts, err := p.requestOptions(req.Gateway, &httpResp)
	if err != nil {
		return providers.GenerateResponse{}, p.requestError(req.Model, err)
	}
	_, tooLong := sdk.CalculateNonStreamingTimeout(int(pl.params.MaxTokens), pl.params.Model, nil)
	if req.Stream != nil || tooLong != nil {
		emit := req.Stream
		if emit == nil {
			emit = func(string) {}
		}
		return p.generateStream(ctx, req.Model, pl, opts, emit, &httpResp)
	}
	msg, err := p.messages.New(ctx, pl.params, opts...)
	if err != nil {
		return providers.GenerateResponse{}, p.wrapError(err, req.Model)
	}
	return p.finish(req.Model, pl, answerOf(msg), httpResp)
}

// answerOf reads a Messages answer (a synchronous one or a batch's result line): its
// text blocks joined, its tool calls, stop reason and usage.
func answerOf(msg *sdk.Message) answer {
	a := answer{model: msg.Model, stop: string(msg.StopReason), usage: usageOf(msg.Usage)}
	var text []string
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			text = append(text, b.Text)
		case "tool_use":
			a.calls = append(a.calls, rawCall{id: b.ID, name: b.Name, input: string(b.Input)})
		}
	}
	a.text = strings.Join(text, "")
	return a
}

// requestError is a request this provider refuses to send.
func (p *Provider) requestError(model string, err error) error {
	return &providers.Error{Provider: p.kind, Model: model, Code: "invalid_request", Message: err.Error(), Err: err}
}

// rawCall is a tool_use block as received: input as JSON text.
type rawCall struct{ id, name, input string }

// tokens are Anthropic's usage counts; input excludes cache reads and writes.
type tokens struct{ input, output, cacheRead, cacheWrite int64 }

func usageOf(u sdk.Usage) tokens {
	return tokens{input: u.InputTokens, output: u.OutputTokens, cacheRead: u.CacheReadInputTokens, cacheWrite: u.CacheCreationInputTokens}
}

// answer is what a message or a finished stream produced.
type answer struct {
	text, model, stop string
	calls             []rawCall
	usage             tokens
}

// finish checks and converts a completed answer; with JSON output it takes the answer
// from the jsonTool call.
func (p *Provider) finish(model string, pl plan, a answer, httpResp *http.Response) (providers.GenerateResponse, error) {
	out := providers.GenerateResponse{Text: a.text, FinishReason: a.stop, Usage: p.usage(model, a.usage),
		Meta: sdkprovider.ResponseMeta(httpResp, a.model, metaHeaders)}
	for _, c := range a.calls {
		args, err := p.compactObject(model, c, a.stop)
		if err != nil {
			return providers.GenerateResponse{}, err
		}
		if pl.json && c.name == jsonTool {
			if out.JSON, out.Text, err = p.jsonAnswer(model, args, pl.wrapped); err != nil {
				return providers.GenerateResponse{}, err
			}
			continue
		}
		out.ToolCalls = append(out.ToolCalls, providers.ToolCall{ID: c.id, Name: c.name, Arguments: args})
	}
	if pl.json && out.JSON == nil && len(out.ToolCalls) == 0 {
		var v any
		if err := json.Unmarshal([]byte(a.text), &v); err != nil {
			return providers.GenerateResponse{}, p.outputError(model, "invalid_json",
				fmt.Sprintf("model answered without calling %s and its text is not JSON: %s", jsonTool, sdkprovider.Shorten(a.text)))
		}
		out.JSON = v
	}
	return out, nil
}

// compactObject checks that a call's input is a JSON object and compacts it.
func (p *Provider) compactObject(model string, c rawCall, stop string) ([]byte, error) {
	input := strings.TrimSpace(c.input)
	if input == "" {
		input = "{}"
	}
	var obj map[string]json.RawMessage
	var buf bytes.Buffer
	if err := json.Unmarshal([]byte(input), &obj); err != nil || obj == nil || json.Compact(&buf, []byte(input)) != nil {
		msg := fmt.Sprintf("tool call %s (%s): input is not a JSON object: %s", c.name, c.id, sdkprovider.Shorten(input))
		if stop == "max_tokens" {
			msg += " (the answer was cut at max_tokens)"
		}
		return nil, p.outputError(model, "invalid_tool_arguments", msg)
	}
	return buf.Bytes(), nil
}

// jsonAnswer decodes the jsonTool input, unwrapping a non-object schema's value.
func (p *Provider) jsonAnswer(model string, args []byte, wrapped bool) (any, string, error) {
	var v any
	if err := json.Unmarshal(args, &v); err != nil {
		return nil, "", p.outputError(model, "invalid_json", err.Error())
	}
	if !wrapped {
		return v, string(args), nil
	}
	obj, _ := v.(map[string]any)
	val, ok := obj[wrapKey]
	if !ok {
		return nil, "", p.outputError(model, "invalid_json", fmt.Sprintf("%s input lacks %q: %s", jsonTool, wrapKey, sdkprovider.Shorten(string(args))))
	}
	text, _ := json.Marshal(val)
	return val, string(text), nil
}

// usage converts token counts and prices them from the catalogue when the model is
// known: cache writes at 1.25× and cache reads at 0.1× the input price, as Anthropic
// publishes.
func (p *Provider) usage(model string, t tokens) providers.Usage {
	u := providers.Usage{InputTokens: int(t.input + t.cacheRead + t.cacheWrite), OutputTokens: int(t.output),
		CachedTokens: int(t.cacheRead), Requests: 1}
	if m, ok := catalog.Lookup(Kind, model); ok {
		base, _ := m.Cost(int(t.input), int(t.output))
		write, _ := m.Cost(int(t.cacheWrite), 0)
		read, _ := m.Cost(int(t.cacheRead), 0)
		u.USD = base + 1.25*write + 0.1*read
	}
	return u
}

// metaHeaders are the response headers kept in a response's Meta: Anthropic's and AI Gateway's
// request ids and the gateway's cache status.
var metaHeaders = []string{"request-id", "cf-aig-cache-status", "cf-aig-log-id", "cf-aig-step"}
