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

// OpenAIKey is the API key the OpenAI emulator accepts unless told otherwise.
const OpenAIKey = "sk-test-openai-0123456789abcdef"

// OpenAI emulates the OpenAI chat completions and embeddings API, and OpenAI-compatible
// servers (wire doc §8 and §10): POST {prefix}/chat/completions and {prefix}/embeddings.
// It checks the Bearer key, rejects unknown top-level fields and malformed turns, streams
// with tool-call argument fragments split across chunks, and answers from a ChatScript.
//
// Faults are applied to every request after it is recorded. A fault with a Body and
// Status 0 or 200 replays that body verbatim (a recorded response or stream, e.g. from
// testdata). A fault with a non-2xx
// Status answers with the native error body ({"error": {message, type, param, code}},
// Code as the error code). A fault with CutStream sends part of the reply and ends the
// body without `data: [DONE]` (a non-streaming reply is cut in half). A fault whose
// Status is 200 and that has a Code sends part of a stream, then a `data: {"error": …}`
// event, and ends without [DONE].
type OpenAI struct {
	Recorder
	Faults
	// Server is the running httptest server; it closes when the test ends.
	Server *httptest.Server

	cfg     openAIConfig
	seq     atomic.Int64
	fail    openAIFailer
	batches oaiBatches // the Files and Batches API (openai_batch.go)
}

// OpenAIOption configures NewOpenAI.
type OpenAIOption func(*openAIConfig)

type openAIConfig struct {
	key           string
	prefix        string
	script        ChatScript
	maxTokensOnly bool
	dims          int
}

// WithOpenAIKey sets the Bearer key the emulator accepts; "" accepts requests without
// one, like a local Ollama or llama.cpp server.
func WithOpenAIKey(key string) OpenAIOption { return func(c *openAIConfig) { c.key = key } }

// WithOpenAIPrefix sets the path prefix before /chat/completions and /embeddings
// (default "/v1"), e.g. "/acct/gw/openai" to stand behind an AI Gateway path.
func WithOpenAIPrefix(prefix string) OpenAIOption {
	return func(c *openAIConfig) { c.prefix = strings.TrimSuffix(prefix, "/") }
}

// WithOpenAIScript replaces the default EchoScript model.
func WithOpenAIScript(s ChatScript) OpenAIOption { return func(c *openAIConfig) { c.script = s } }

// WithOpenAIMaxTokensOnly emulates a compatible server that knows only the older
// `max_tokens` field and rejects `max_completion_tokens` as unrecognised.
func WithOpenAIMaxTokensOnly() OpenAIOption { return func(c *openAIConfig) { c.maxTokensOnly = true } }

// WithOpenAIDimensions sets the native embedding size (default 16); `dimensions`
// in a request shortens it.
func WithOpenAIDimensions(n int) OpenAIOption { return func(c *openAIConfig) { c.dims = n } }

// NewOpenAI starts an OpenAI emulator that is closed when t ends.
func NewOpenAI(t testing.TB, opts ...OpenAIOption) *OpenAI {
	o := &OpenAI{cfg: openAIConfig{key: OpenAIKey, prefix: "/v1", script: EchoScript, dims: 16}}
	for _, opt := range opts {
		opt(&o.cfg)
	}
	o.Server = httptest.NewServer(o)
	t.Cleanup(o.Server.Close)
	return o
}

// URL is the base URL a client should use: the server address plus the prefix.
func (o *OpenAI) URL() string { return o.Server.URL + o.cfg.prefix }

// Key is the API key the emulator accepts ("" when it accepts any).
func (o *OpenAI) Key() string { return o.cfg.key }

// ServeHTTP routes one request.
func (o *OpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := o.record(r)
	w.Header().Set("x-request-id", fmt.Sprintf("req_%d", o.seq.Add(1)))
	f := o.Faults.next(r.URL.Path)
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
	if f != nil && (f.Status < 200 || f.Status > 299) && f.Status != 0 {
		o.fail.fault(w, f)
		return
	}
	route, ok := strings.CutPrefix(r.URL.Path, o.cfg.prefix)
	if ok && o.serveBatch(w, r, route, body) {
		return
	}
	if !ok || r.Method != http.MethodPost || (route != "/chat/completions" && route != "/embeddings" && route != "/audio/transcriptions" && route != "/images/generations") {
		o.fail.write(w, http.StatusNotFound, "invalid_request_error", "", "",
			fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path))
		return
	}
	if !o.authorized(w, r) {
		return
	}
	if route == "/embeddings" {
		o.embeddings(w, body, f)
		return
	}
	if route == "/images/generations" {
		o.imageGenerations(w, body)
		return
	}
	if route == "/audio/transcriptions" {
		o.transcriptions(w, r, body)
		return
	}
	o.chat(w, body, f)
}

// authorized checks the Bearer key and answers 401 when it is wrong.
func (o *OpenAI) authorized(w http.ResponseWriter, r *http.Request) bool {
	if o.cfg.key == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && got == o.cfg.key {
		return true
	}
	msg := "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth."
	if ok && got != "" {
		msg = "Incorrect API key provided: " + oaiMaskKey(got) + ". You can find your API key at https://platform.openai.com/account/api-keys."
	}
	o.fail.write(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "", msg)
	return false
}

// oaiMaskKey shows a key the way OpenAI does: its first three and last four characters.
func oaiMaskKey(k string) string {
	if len(k) <= 8 {
		return strings.Repeat("*", len(k))
	}
	return k[:3] + strings.Repeat("*", len(k)-7) + k[len(k)-4:]
}

// openAIFailer writes OpenAI error bodies.
type openAIFailer struct{}

// write sends {"error": {message, type, param, code}} with the given status.
func (openAIFailer) write(w http.ResponseWriter, status int, typ, code, param, msg string) {
	e := map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

// fault answers with a scripted failure.
func (fl openAIFailer) fault(w http.ResponseWriter, f *Fault) {
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
	typ := openAIErrorType(f.Status, f.Code)
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	fl.write(w, f.Status, typ, f.Code, "", msg)
}

// openAIErrorType is the `type` OpenAI pairs with a status and code.
func openAIErrorType(status int, code string) string {
	switch {
	case code == "insufficient_quota":
		return "insufficient_quota"
	case status == http.StatusTooManyRequests:
		return "requests"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request_error"
}

// oaiBad is a 400 invalid_request_error with a param.
type oaiBad struct {
	param, code, msg string
}

func (e *oaiBad) Error() string { return e.msg }

func (fl openAIFailer) bad(w http.ResponseWriter, e *oaiBad) {
	fl.write(w, http.StatusBadRequest, "invalid_request_error", e.code, e.param, e.msg)
}

// replayRecorded writes a recorded 200 body: an event stream when it starts like one, else JSON.
func replayRecorded(w http.ResponseWriter, body string) {
	ct := "application/json"
	if strings.HasPrefix(body, "data:") || strings.HasPrefix(body, "event:") {
		ct = "text/event-stream"
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write([]byte(body))
}
