package workersai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

// maxResponse bounds a non-streaming response body.
const maxResponse = 64 << 20

// call is one Workers AI request.
type call struct {
	task   providers.Task
	model  string
	body   any
	gw     *providers.GatewayOptions // per-request gateway options
	chat   bool                      // the OpenAI-compatible /ai/v1/chat/completions endpoint
	stream bool
	queue  bool // ?queueRequest=true: the asynchronous batch API (batch.go)
}

var modelID = regexp.MustCompile(`^@?[A-Za-z0-9][A-Za-z0-9._:-]*(/[A-Za-z0-9][A-Za-z0-9._:-]*)*$`)

// checkModel rejects ids that cannot be a Workers AI model (and could bend the URL).
func checkModel(model string) error {
	if model == "" {
		return &providers.Error{Provider: Kind, Message: "no model given"}
	}
	if !modelID.MatchString(model) || strings.Contains(model, "..") {
		return &providers.Error{Provider: Kind, Model: model, Message: "not a Workers AI model id (want e.g. @cf/meta/llama-3.1-8b-instruct)"}
	}
	return nil
}

// endpoint builds the URL with the model id raw, slashes included (wire doc §2.1, §5.1).
func (p *Provider) endpoint(model string, chat bool) string {
	var base string
	if g := p.cfg.gateway; g != nil {
		base = g.baseURL + "/" + p.cfg.accountID + "/" + g.id + "/workers-ai/"
		if chat {
			return base + "v1/chat/completions"
		}
		return base + model
	}
	base = p.cfg.baseURL + "/accounts/" + p.cfg.accountID + "/ai/"
	if chat {
		return base + "v1/chat/completions"
	}
	return base + "run/" + model
}

// send posts the call and returns the 2xx response; failures are *providers.Error
// naming the model, or the context's error.
func (p *Provider) send(ctx context.Context, c call) (*http.Response, error) {
	b, ok := c.body.(json.RawMessage) // built by the caller (audio.go): sent as is, not copied
	var err error
	if !ok {
		b, err = json.Marshal(c.body)
	}
	if err != nil {
		return nil, &providers.Error{Provider: Kind, Model: c.model, Message: "encoding request: " + err.Error(), Err: err}
	}
	u := p.endpoint(c.model, c.chat)
	if c.queue {
		u += "?queueRequest=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return nil, p.fail(c.model, err)
	}
	req.Header.Set("Authorization", "Bearer "+p.cfg.apiToken)
	req.Header.Set("Content-Type", "application/json")
	if c.stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	if g := p.cfg.gateway; g != nil {
		if g.auth != "" {
			req.Header.Set("cf-aig-authorization", "Bearer "+g.auth)
		}
		if err := transport.SetGatewayHeaders(req.Header, transport.MergeGateway(&g.opts, c.gw)); err != nil {
			return nil, &providers.Error{Provider: Kind, Model: c.model, Message: err.Error(), Err: err}
		}
	}
	resp, err := p.client(c.task, c.model).Do(req)
	if err != nil {
		return nil, p.fail(c.model, err)
	}
	return resp, nil
}

// fail turns a client error into a *providers.Error naming the model; context
// cancellation and deadlines come back as the bare context errors.
func (p *Provider) fail(model string, err error) error {
	var pe *providers.Error
	if errors.As(err, &pe) {
		if pe.Model == "" {
			pe.Model = model
		}
		return pe
	}
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	msg := transport.Redact(err.Error(), p.secrets)
	return &providers.Error{Provider: Kind, Model: model, Message: msg, Retryable: true, Err: errors.New(msg)}
}

// envelope is the Cloudflare response envelope (wire doc §1).
type envelope struct {
	Success bool            `json:"success"`
	Errors  []envelopeError `json:"errors"`
	Result  json.RawMessage `json:"result"`
}

type envelopeError struct {
	Code    json.Number `json:"code"`
	Message string      `json:"message"`
}

// run sends a non-streaming call and decodes its `result` (or, on the OpenAI-compatible
// endpoint, the whole body) into out.
func (p *Provider) run(ctx context.Context, c call, out any) (providers.Meta, error) {
	resp, err := p.send(ctx, c)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	meta := p.meta(resp, c.model)
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return meta, p.fail(c.model, fmt.Errorf("reading response: %w", err))
	}
	if c.chat {
		return meta, p.decode(c.model, body, out)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return meta, p.badResponse(c.model, err, body)
	}
	if !env.Success || len(env.Errors) > 0 {
		return meta, p.envelopeError(c.model, resp.StatusCode, env.Errors)
	}
	return meta, p.decode(c.model, env.Result, out)
}

// decode unmarshals a result, failing with the body's beginning for context.
func (p *Provider) decode(model string, raw []byte, out any) error {
	if err := json.Unmarshal(raw, out); err != nil {
		return p.badResponse(model, err, raw)
	}
	return nil
}

// badResponse quotes the beginning of an unreadable body. The token is redacted before the
// body is shortened, so a token across the cut leaves nothing of itself behind.
func (p *Provider) badResponse(model string, err error, body []byte) error {
	snippet := transport.Shorten(transport.Redact(string(body), p.secrets), 200)
	return &providers.Error{Provider: Kind, Model: model,
		Message: transport.Redact(fmt.Sprintf("unexpected response (%v): %s", err, snippet), p.secrets), Err: err}
}

// envelopeError reports a 2xx envelope with success false.
func (p *Provider) envelopeError(model string, status int, errs []envelopeError) error {
	pe := &providers.Error{Provider: Kind, Model: model, Status: status, Message: "success false without errors"}
	if len(errs) > 0 {
		pe.Code, pe.Message = errs[0].Code.String(), transport.Redact(errs[0].Message, p.secrets)
	}
	return pe
}

// meta records the model and, through AI Gateway, the cache status and log id.
func (p *Provider) meta(resp *http.Response, model string) providers.Meta {
	m := providers.Meta{"model": model}
	if p.cfg.gateway != nil {
		m["gateway"] = p.cfg.gateway.id
	}
	for _, h := range []string{"cf-aig-cache-status", "cf-aig-log-id", "cf-aig-step"} {
		if v := resp.Header.Get(h); v != "" {
			m[h] = v
		}
	}
	return m
}
