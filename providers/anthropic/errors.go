package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	sdk "github.com/anthropics/anthropic-sdk-go"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/internal/sdkprovider"
	"github.com/aiflow/aiflow/providers/transport"
)

// retryableTypes are Anthropic error types worth another attempt (wire doc §9).
var retryableTypes = map[string]bool{"rate_limit_error": true, "overloaded_error": true,
	"api_error": true, "timeout_error": true}

// classify is the transport's Classify: the generic status rules (429, 529 and 5xx
// retry, other 4xx do not), plus billing_error as a spent budget.
func classify(resp *http.Response, body []byte) *providers.Error {
	pe := transport.DefaultClassify(resp, body)
	if pe.Code == "billing_error" {
		pe.Quota, pe.Retryable = true, false
	}
	return pe
}

// wrapError turns any failure into a *providers.Error naming the provider and model.
func (p *Provider) wrapError(err error, model string) error {
	if pe, ok := sdkprovider.Known(err, model); ok {
		return pe
	}
	out := &providers.Error{Provider: p.kind, Model: model, Err: err, Message: transport.Redact(err.Error(), p.secrets)}
	var ae *sdk.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	case errors.As(err, &ae):
		p.apiError(out, ae)
	default:
		// A body that ends early or does not decode is a transient failure.
		out.Retryable = true
	}
	return out
}

// apiError fills an error the SDK decoded, such as an `event: error` inside a stream.
func (p *Provider) apiError(out *providers.Error, ae *sdk.Error) {
	var body struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal([]byte(ae.RawJSON()), &body)
	out.Code = body.Error.Type
	if out.Code == "" {
		out.Code = string(ae.Type())
	}
	out.Message = transport.Redact(body.Error.Message, p.secrets)
	if ae.StatusCode >= 200 && ae.StatusCode < 300 {
		out.Message = "stream error: " + out.Message
	} else {
		out.Status = ae.StatusCode
	}
	out.Retryable = retryableTypes[out.Code]
	out.Quota = out.Code == "billing_error"
}

// outputError is a response the provider cannot use (bad tool input, invalid JSON).
func (p *Provider) outputError(model, code, msg string) *providers.Error {
	return &providers.Error{Provider: p.kind, Model: model, Code: code, Message: transport.Redact(msg, p.secrets)}
}
