package openai

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/internal/sdkprovider"
	"github.com/aiflow/aiflow/providers/transport"
)

// quotaCodes are OpenAI error codes that mean the budget is spent: retrying cannot help,
// a route fallback can.
var quotaCodes = map[string]bool{"insufficient_quota": true, "billing_hard_limit_reached": true}

// classify is the transport's Classify: the generic status rules, plus OpenAI's 429
// split between rate_limit_exceeded (retryable) and insufficient_quota (quota).
func classify(resp *http.Response, body []byte) *providers.Error {
	pe := transport.DefaultClassify(resp, body)
	var eb struct {
		Error struct {
			Type string `json:"type"`
			Code any    `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &eb) == nil {
		code, _ := eb.Error.Code.(string)
		if quotaCodes[code] || quotaCodes[eb.Error.Type] {
			pe.Quota, pe.Retryable = true, false
		}
	}
	return pe
}

// wrapError turns any failure into a *providers.Error naming the provider and model.
// Transport errors keep their classification; a context error stays reachable with
// errors.Is.
func (p *Provider) wrapError(err error, model string) error {
	if pe, ok := sdkprovider.Known(err, model); ok {
		return pe
	}
	out := &providers.Error{Provider: p.kind, Model: model, Err: err, Message: transport.Redact(err.Error(), p.secrets)}
	var se *ssestream.StreamError
	var ae *oai.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		out.Message = err.Error()
	case errors.As(err, &se):
		p.streamError(out, se)
	case errors.As(err, &ae):
		out.Status, out.Code, out.Message = ae.StatusCode, ae.Code, transport.Redact(ae.Message, p.secrets)
		out.Retryable = transport.RetryableStatus(ae.StatusCode) && !quotaCodes[ae.Code]
		out.Quota = quotaCodes[ae.Code]
	default:
		// A body that ends early or does not decode is a transient failure.
		out.Retryable = true
	}
	return out
}

// streamError fills an error event received inside a stream: {"error": {...}}.
func (p *Provider) streamError(out *providers.Error, se *ssestream.StreamError) {
	var eb struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    any    `json:"code"`
		} `json:"error"`
	}
	out.Retryable = true
	if json.Unmarshal(se.Event.Data, &eb) != nil {
		return
	}
	code, _ := eb.Error.Code.(string)
	if code == "" {
		code = eb.Error.Type
	}
	out.Code = code
	out.Message = "stream error: " + transport.Redact(eb.Error.Message, p.secrets)
	if quotaCodes[code] || eb.Error.Type == "invalid_request_error" {
		out.Retryable = false
		out.Quota = quotaCodes[code]
	}
}

// outputError is a response the provider cannot use (bad tool arguments, invalid JSON).
func (p *Provider) outputError(model, code, msg string) *providers.Error {
	return &providers.Error{Provider: p.kind, Model: model, Code: code, Message: transport.Redact(msg, p.secrets)}
}
