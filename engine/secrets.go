package engine

import (
	"sort"
	"strings"
	"sync"
)

// secretSet collects values read through env() so they can be redacted from everything
// aiflow records or prints. Any env() value of 6 characters or more counts: aiflow cannot
// tell a token from an id, and hiding an id costs nothing.
type secretSet struct {
	mu     sync.RWMutex
	values map[string]bool
}

func newSecretSet() *secretSet { return &secretSet{values: map[string]bool{}} }

func (s *secretSet) onEnv(_, value string, ok bool) {
	if !ok || len(value) < 6 {
		return
	}
	s.add(value)
}

func (s *secretSet) add(v string) {
	s.mu.Lock()
	s.values[v] = true
	s.mu.Unlock()
}

// list returns the secrets, longest first (so a secret containing another is redacted whole).
func (s *secretSet) list() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.values))
	for v := range s.values {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// Redact replaces every known secret in str with [REDACTED].
func (s *secretSet) Redact(str string) string {
	for _, v := range s.list() {
		str = strings.ReplaceAll(str, v, "[REDACTED]")
	}
	return str
}

// redactValue returns a copy of data with secrets replaced inside every string.
func (s *secretSet) redactValue(v any) any {
	if len(s.values) == 0 {
		return v
	}
	switch x := v.(type) {
	case string:
		return s.Redact(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = s.redactValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.redactValue(e)
		}
		return out
	}
	return v
}
