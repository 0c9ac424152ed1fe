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
	sorted []string // values, longest first
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
	defer s.mu.Unlock()
	if s.values[v] {
		return
	}
	s.values[v] = true
	sorted := make([]string, 0, len(s.values))
	for x := range s.values {
		sorted = append(sorted, x)
	}
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	s.sorted = sorted // replaced, never changed: readers may keep the old slice
}

// list returns the secrets, longest first (so a secret containing another is redacted
// whole). The slice must not be modified.
func (s *secretSet) list() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sorted
}

// Redact replaces every known secret in str with [REDACTED].
func (s *secretSet) Redact(str string) string { return redactString(str, s.list()) }

func redactString(str string, secrets []string) string {
	for _, v := range secrets {
		str = strings.ReplaceAll(str, v, "[REDACTED]")
	}
	return str
}

// redactValue returns a copy of data with secrets replaced inside every string. It takes
// the secrets once: env() calls on other goroutines may add to the set meanwhile.
func (s *secretSet) redactValue(v any) any {
	secrets := s.list()
	if len(secrets) == 0 {
		return v
	}
	return redactWith(v, secrets)
}

func redactWith(v any, secrets []string) any {
	switch x := v.(type) {
	case string:
		return redactString(x, secrets)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = redactWith(e, secrets)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactWith(e, secrets)
		}
		return out
	}
	return v
}
