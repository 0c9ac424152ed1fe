package transport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aiflow/aiflow/providers"
)

// maxMessage bounds how much of a non-JSON error body ends up in an error message, counted
// after redaction.
const maxMessage = 300

// DefaultClassify turns a non-2xx response into a typed error from its status alone:
// 408, 409, 429 and every 5xx are retryable, other statuses are not. Code and Message come
// from the body (see ParseErrorBody); RetryAfter from the response headers.
func DefaultClassify(resp *http.Response, body []byte) *providers.Error {
	code, msg := ParseErrorBody(body)
	pe := &providers.Error{
		Status:    resp.StatusCode,
		Code:      code,
		Message:   msg,
		Retryable: RetryableStatus(resp.StatusCode),
	}
	pe.RetryAfter, _ = RetryAfter(resp.Header, time.Now())
	return pe
}

// RetryableStatus reports whether an HTTP status is worth another attempt by itself:
// 408, 409, 429 and 5xx.
func RetryableStatus(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusConflict,
		status == http.StatusTooManyRequests, status >= 500:
		return true
	}
	return false
}

// errorBody is the union of the error bodies of the services aiflow calls.
type errorBody struct {
	Error   json.RawMessage `json:"error"`  // OpenAI/Anthropic object, or AI Gateway array
	Errors  []codeMessage   `json:"errors"` // Cloudflare envelope
	Message string          `json:"message"`
}

type codeMessage struct {
	Code    json.RawMessage `json:"code"`
	Type    string          `json:"type"`
	Message string          `json:"message"`
}

// ParseErrorBody extracts a provider error code and message from an error body. It knows
// the Cloudflare envelope (`errors[0]`), AI Gateway's `error: [{code, message}]`, the
// OpenAI and Anthropic `error: {type, code, message}` objects and a bare `message`; any
// other body yields its text on one line, HTML tags stripped; the client shortens that to
// maxMessage once secrets are redacted.
func ParseErrorBody(body []byte) (code, message string) {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		return "", plainText(body)
	}
	if len(eb.Errors) > 0 {
		return eb.Errors[0].code(), joinMessages(eb.Errors)
	}
	if cm, ok := parseErrorField(eb.Error); ok {
		return cm.code(), cm.Message
	}
	if eb.Message != "" {
		return "", eb.Message
	}
	return "", plainText(body)
}

// parseErrorField reads `error` as an object, an array of objects or a string.
func parseErrorField(raw json.RawMessage) (codeMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return codeMessage{}, false
	}
	var cm codeMessage
	if json.Unmarshal(raw, &cm) == nil {
		return cm, true
	}
	var list []codeMessage
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		return list[0], true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return codeMessage{Message: s}, true
	}
	return codeMessage{}, false
}

// code renders a numeric or string code; with none, the error type stands in.
func (cm codeMessage) code() string {
	raw := bytes.TrimSpace(cm.Code)
	if len(raw) == 0 || string(raw) == "null" {
		return cm.Type
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// joinMessages joins the messages of a Cloudflare errors array with "; ".
func joinMessages(list []codeMessage) string {
	msgs := make([]string, 0, len(list))
	for _, e := range list {
		if e.Message == "" {
			continue
		}
		if c := e.code(); c != "" && len(msgs) > 0 {
			msgs = append(msgs, fmt.Sprintf("%s (code %s)", e.Message, c))
			continue
		}
		msgs = append(msgs, e.Message)
	}
	return strings.Join(msgs, "; ")
}

// plainText makes a one-line message out of a non-JSON body. It is not shortened here: the
// client redacts secrets first and shortens after (see client.complete), so a secret that
// straddles the cut cannot leave its beginning behind.
func plainText(body []byte) string {
	return strings.Join(strings.Fields(stripTags(string(body))), " ")
}

// Shorten cuts s to at most n bytes, on a rune boundary, marking the cut with "…". Redact
// before shortening: a cut through a secret would leave its beginning unredacted.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// stripTags removes <…> markup, so an HTML error page reads as its text.
func stripTags(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '<':
			depth++
		case r == '>' && depth > 0:
			depth--
			b.WriteByte(' ')
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// RetryAfter reads the server-advised wait from Retry-After-Ms, else Retry-After (whole
// seconds or an HTTP date, relative to now). It reports false when neither is usable.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return clampAdvice(ms * float64(time.Millisecond)), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return clampAdvice(secs * float64(time.Second)), true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

// maxAdvice bounds a parsed Retry-After so absurd values cannot overflow a Duration.
const maxAdvice = 366 * 24 * time.Hour

func clampAdvice(ns float64) time.Duration {
	if ns > float64(maxAdvice) {
		return maxAdvice
	}
	return time.Duration(ns)
}
