package engine

import (
	"strings"
	"testing"
)

// TestStreamRedactor: a secret split across streamed tokens is redacted all the same, and
// text that only looked like the start of a secret is released unchanged.
func TestStreamRedactor(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		pieces  []string
		want    string
	}{
		{"no secrets", nil, []string{"hello ", "world"}, "hello world"},
		{"whole secret in a token", []string{"hunter2-secret"}, []string{"pw ", "hunter2-secret", " ok"}, "pw [REDACTED] ok"},
		{"secret split in three", []string{"hunter2-secret"}, []string{"pw hun", "ter2-se", "cret ok"}, "pw [REDACTED] ok"},
		{"secret at the very end", []string{"hunter2-secret"}, []string{"pw hunter2", "-secret"}, "pw [REDACTED]"},
		{"false start released", []string{"hunter2-secret"}, []string{"hunt", "ing season"}, "hunting season"},
		{"false start at the end", []string{"hunter2-secret"}, []string{"a hunter2"}, "a hunter2"},
		{"one char at a time", []string{"abcdef"}, strings.Split("xxabcdefyy", ""), "xx[REDACTED]yy"},
		{"occurrence cut by a longer start", []string{"abcdef", "defXYZ"}, []string{"abcdef", "XYZ"}, "[REDACTED]XYZ"},
		{"longer secret wins", []string{"abcdef", "abcdefghij"}, []string{"abcdef", "ghij!"}, "[REDACTED]!"},
		{"marker not re-redacted", []string{"ACTED"}, []string{"x AC", "TED y"}, "x [REDACTED] y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSecretSet()
			for _, v := range tt.secrets {
				s.add(v)
			}
			r := streamRedactor{secrets: s}
			var got strings.Builder
			for _, p := range tt.pieces {
				out := r.write(p)
				got.WriteString(out)
				for _, v := range tt.secrets {
					if strings.Contains(strings.ReplaceAll(got.String(), redactedMark, "\x00"), v) {
						t.Fatalf("after %q the shown text %q holds %q", p, got.String(), v)
					}
				}
			}
			got.WriteString(r.flush())
			if got.String() != tt.want {
				t.Errorf("streamed %q, want %q", got.String(), tt.want)
			}
		})
	}
}

// TestRedactCutSecrets: text shortened before it reached the engine may end in the
// beginning of a secret; that beginning is redacted too.
func TestRedactCutSecrets(t *testing.T) {
	s := newSecretSet()
	s.add("hunter2-secret")
	s.add("ACTED")
	tests := []struct{ in, want string }{
		{"bad input: xx hunter2-se…", "bad input: xx [REDACTED]…"},
		{"pw hunter2-secret ok", "pw [REDACTED] ok"},
		{"a hun… b hunter2-secret… c", "a [REDACTED]… b [REDACTED]… c"},
		{"hu… and a summary…", "hu… and a summary…"},
		{"x hunter2-secret…", "x [REDACTED]…"},
		{"no ellipsis hunter2", "no ellipsis hunter2"},
	}
	for _, tt := range tests {
		if got := s.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := s.redactValue([]any{tt.in}).([]any)[0]; got != tt.want {
			t.Errorf("redactValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
