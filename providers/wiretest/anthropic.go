package wiretest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// AnthropicKey is the API key the Anthropic emulator accepts unless told otherwise.
const AnthropicKey = "sk-ant-test-0123456789abcdef"

// Anthropic emulates the Anthropic Messages API (wire doc §9 and §10): POST
// {prefix}/v1/messages with x-api-key and anthropic-version checks, strict body
// validation (unknown fields, roles, tool_use/tool_result pairing), replies from a
// ChatScript, and the full streaming event sequence with pings and input_json_delta
// fragments that parse only when joined.
//
// Faults are applied to every request after it is recorded. A Body with Status 0 or
// 200 is replayed verbatim (a recorded response or stream). A non-2xx Status answers
// with the native error body (Code as error.type; by default the type Anthropic pairs
// with the status, e.g. 529 overloaded_error). CutStream sends part of the reply and
// ends without message_stop (a non-streaming reply is cut in half). A fault whose Status
// is 200 and that has a Code sends part of a stream, then `event: error` with that type.
type Anthropic struct {
	Recorder
	Faults
	// Server is the running httptest server; it closes when the test ends.
	Server *httptest.Server

	cfg     anthropicConfig
	seq     atomic.Int64
	batches anthBatches // Message Batches (anthropic_batch.go)
}

// AnthropicOption configures NewAnthropic.
type AnthropicOption func(*anthropicConfig)

type anthropicConfig struct {
	key    string
	prefix string
	script ChatScript
}

// WithAnthropicKey sets the x-api-key the emulator accepts; "" accepts any non-empty key.
func WithAnthropicKey(key string) AnthropicOption { return func(c *anthropicConfig) { c.key = key } }

// WithAnthropicPrefix sets the path prefix before /v1/messages (default ""), e.g.
// "/acct/gw/anthropic" to stand behind an AI Gateway path.
func WithAnthropicPrefix(prefix string) AnthropicOption {
	return func(c *anthropicConfig) { c.prefix = strings.TrimSuffix(prefix, "/") }
}

// WithAnthropicScript replaces the default EchoScript model.
func WithAnthropicScript(s ChatScript) AnthropicOption {
	return func(c *anthropicConfig) { c.script = s }
}

// NewAnthropic starts an Anthropic emulator that is closed when t ends.
func NewAnthropic(t testing.TB, opts ...AnthropicOption) *Anthropic {
	a := &Anthropic{cfg: anthropicConfig{key: AnthropicKey, script: EchoScript}}
	for _, opt := range opts {
		opt(&a.cfg)
	}
	a.Server = httptest.NewServer(a)
	t.Cleanup(a.Server.Close)
	return a
}

// URL is the base URL a client should use (server address plus prefix, without /v1).
func (a *Anthropic) URL() string { return a.Server.URL + a.cfg.prefix }

// Key is the API key the emulator accepts.
func (a *Anthropic) Key() string { return a.cfg.key }

// ServeHTTP routes one request.
func (a *Anthropic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := a.record(r)
	reqID := fmt.Sprintf("req_%d", a.seq.Add(1))
	w.Header().Set("request-id", reqID)
	f := a.Faults.next(r.URL.Path)
	if f != nil && f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f != nil && f.Body != "" && (f.Status == 0 || f.Status == http.StatusOK) {
		replayRecorded(w, f.Body)
		return
	}
	if f != nil && f.Status != 0 && (f.Status < 200 || f.Status > 299) {
		anthropicFault(w, f, reqID)
		return
	}
	if a.serveBatch(w, r, body, reqID) {
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != a.cfg.prefix+"/v1/messages" {
		anthropicError(w, http.StatusNotFound, "not_found_error", "Not Found", reqID)
		return
	}
	if !a.authorized(w, r, reqID) {
		return
	}
	a.messages(w, body, f, reqID)
}

// authorized checks x-api-key and anthropic-version.
func (a *Anthropic) authorized(w http.ResponseWriter, r *http.Request, reqID string) bool {
	key := r.Header.Get("x-api-key")
	switch {
	case key == "":
		anthropicError(w, http.StatusUnauthorized, "authentication_error", "x-api-key header is required", reqID)
		return false
	case a.cfg.key != "" && key != a.cfg.key:
		anthropicError(w, http.StatusUnauthorized, "authentication_error", "invalid x-api-key", reqID)
		return false
	case r.Header.Get("anthropic-version") == "":
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required", reqID)
		return false
	}
	return true
}

// anthropicError writes {"type":"error","error":{type,message},"request_id"}.
func anthropicError(w http.ResponseWriter, status int, typ, msg, reqID string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "error",
		"error": map[string]any{"type": typ, "message": msg}, "request_id": reqID})
}

func anthropicFault(w http.ResponseWriter, f *Fault, reqID string) {
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if f.Body != "" {
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	typ := f.Code
	if typ == "" {
		typ = anthropicErrorType(f.Status)
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
		if f.Status == 529 {
			msg = "Overloaded"
		}
	}
	anthropicError(w, f.Status, typ, msg, reqID)
}

// anthropicErrorType is the error.type Anthropic pairs with a status.
func anthropicErrorType(status int) string {
	switch status {
	case 401:
		return "authentication_error"
	case 402:
		return "billing_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 504:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}
