package workersai

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

// Workers AI and Cloudflare error codes with a decided meaning (wire doc §1, §2.8, §5.5).
var (
	retryableCodes = map[string]bool{"3040": true, "3007": true, "3008": true}
	quotaCodes     = map[string]bool{"3036": true, "4006": true}
	hints          = map[string]string{
		"5007":  "unknown model or task: check the model id (it goes in the URL with its slashes)",
		"5016":  "accept the model's licence first: send it the prompt \"agree\" once per account",
		"10000": "check api_token: it needs Workers AI Read and Edit (and AI Gateway Run through a gateway)",
		"7003":  "check account_id",
		"2009":  "the gateway is authenticated: set gateway.authorization to a token with AI Gateway Run",
		"3006":  "request too large: send fewer or shorter inputs",
		"3036":  "daily free allocation used up (resets 00:00 UTC, or upgrade to Workers Paid)",
	}
)

// classify is the transport's Classify for Workers AI: status and errors[0].code together
// decide (quota and capacity share 429).
func classify(resp *http.Response, body []byte) *providers.Error {
	code, msg := transport.ParseErrorBody(body)
	pe := &providers.Error{Code: code, Message: msg, Retryable: transport.RetryableStatus(resp.StatusCode)}
	switch {
	case retryableCodes[code]:
		pe.Retryable = true
	case quotaCodes[code] || strings.Contains(strings.ToLower(msg), "daily free allocation"):
		pe.Quota, pe.Retryable = true, false
		code = "3036"
	case resp.StatusCode == http.StatusTooManyRequests && !json.Valid(body):
		pe.Retryable = true
		pe.Message = "rate limited: " + msg
	}
	if h, ok := hints[code]; ok && !strings.Contains(pe.Message, h) {
		pe.Message += " (" + h + ")"
	}
	return pe
}
