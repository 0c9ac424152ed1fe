package transport

import (
	"net/url"
	"strings"
)

// redacted replaces secrets in errors and traces.
const redacted = "[REDACTED]"

// Redact replaces every secret in s by "[REDACTED]". Their URL-escaped forms are
// replaced too. Empty secrets are ignored; longer secrets are replaced first so that one secret containing another is fully hidden.
func Redact(s string, secrets []string) string {
	for _, sec := range sortedSecrets(secrets) {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return s
}

// sortedSecrets drops empty values, adds the URL-escaped spellings (a secret may travel in
// a query string) and orders the result longest first.
func sortedSecrets(secrets []string) []string {
	out := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if s == "" {
			continue
		}
		out = append(out, s)
		if q := url.QueryEscape(s); q != s {
			out = append(out, q)
		}
		if p := url.PathEscape(s); p != s && p != url.QueryEscape(s) {
			out = append(out, p)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// redactedError hides secrets in an underlying error's text while keeping it unwrappable.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }
