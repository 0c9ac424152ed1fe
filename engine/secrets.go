package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// redactedMark replaces every secret in what aiflow records or prints.
const redactedMark = "[REDACTED]"

// secretSet collects the values to redact from everything aiflow records or prints: values
// read through env() and the values of vars declared secret: true. Any env() value of 6
// characters or more counts: aiflow cannot tell a token from an id, and hiding an id costs
// nothing. A secret var counts whatever its length, because its author said so.
//
// The set only ever redacts. Cache keys hash the values themselves (see CacheKey), so two
// different secrets never share a key.
type secretSet struct {
	mu       sync.RWMutex
	values   map[string]bool
	sorted   []string // values, longest first
	replacer *strings.Replacer
}

func newSecretSet() *secretSet { return &secretSet{values: map[string]bool{}} }

func (s *secretSet) onEnv(_, value string, ok bool) {
	if !ok || len(value) < 6 {
		return
	}
	s.add(value)
}

// addVar records the value of a secret: true var: a string, a number's text, or every
// string and number inside a list or object.
func (s *secretSet) addVar(v any) {
	switch x := v.(type) {
	case string:
		if x != "" {
			s.add(x)
		}
	case int, int64, float64:
		s.add(fmt.Sprint(x))
	case []any:
		for _, e := range x {
			s.addVar(e)
		}
	case map[string]any:
		for _, e := range x {
			s.addVar(e)
		}
	}
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
	sort.Slice(sorted, func(i, j int) bool {
		if len(sorted[i]) != len(sorted[j]) {
			return len(sorted[i]) > len(sorted[j])
		}
		return sorted[i] < sorted[j]
	})
	pairs := make([]string, 0, 2*len(sorted))
	for _, x := range sorted {
		pairs = append(pairs, x, redactedMark)
	}
	// replaced, never changed: readers may keep the old ones
	s.sorted, s.replacer = sorted, strings.NewReplacer(pairs...)
}

// snapshot returns the secrets, longest first, and a replacer that redacts them all in one
// pass (so a secret found inside "[REDACTED]" cannot mangle a mark already written, and at
// any position the longest secret wins). Neither may be modified; the replacer is nil when
// there are no secrets.
func (s *secretSet) snapshot() ([]string, *strings.Replacer) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sorted, s.replacer
}

// Redact replaces every known secret in str with [REDACTED], and what a shortening cut left
// of one (see redactCuts).
func (s *secretSet) Redact(str string) string {
	secrets, r := s.snapshot()
	if r == nil {
		return str
	}
	return redactCuts(r.Replace(str), secrets)
}

// ellipsis marks where aiflow and its providers shorten quoted text (error bodies, model
// output in errors, summaries).
const ellipsis = "…"

// minCutPrefix is how much of a secret's beginning, right before an ellipsis, counts as
// the secret cut short.
const minCutPrefix = 3

// redactCuts hides the beginning of a secret that a shortening cut through: a provider or
// step may quote text that holds a secret it never knew of (an env() value or secret var
// echoed by a model) and shorten it before the engine redacts, leaving "…hunter2-se…".
// Text whose last minCutPrefix bytes or more before an ellipsis begin a secret is treated
// as that secret.
func redactCuts(str string, secrets []string) string {
	if !strings.Contains(str, ellipsis) {
		return str
	}
	var b strings.Builder
	for rest := str; ; {
		i := strings.Index(rest, ellipsis)
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		head, cut := rest[:i], 0
		for _, sec := range secrets {
			for k := min(len(sec)-1, len(head)); k >= minCutPrefix && k > cut; k-- {
				if strings.HasSuffix(head, sec[:k]) {
					cut = k
					break
				}
			}
		}
		b.WriteString(head[:len(head)-cut])
		if cut > 0 {
			b.WriteString(redactedMark)
		}
		b.WriteString(ellipsis)
		rest = rest[i+len(ellipsis):]
	}
}

// redactValue returns a copy of data with secrets replaced inside every string. It takes
// the secrets once: env() calls on other goroutines may add to the set meanwhile.
func (s *secretSet) redactValue(v any) any {
	secrets, r := s.snapshot()
	if r == nil {
		return v
	}
	return redactWith(v, secrets, r)
}

// redactJSON redacts the strings inside a JSON document (tool call arguments) and keeps it
// valid JSON. Text that is not JSON is redacted as text.
func (s *secretSet) redactJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return json.RawMessage(s.Redact(string(raw)))
	}
	if red := s.redactValue(v); !reflect.DeepEqual(red, v) {
		if b, err := json.Marshal(red); err == nil {
			return b
		}
	}
	return raw
}

func redactWith(v any, secrets []string, r *strings.Replacer) any {
	switch x := v.(type) {
	case string:
		return redactCuts(r.Replace(x), secrets)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = redactWith(e, secrets, r)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactWith(e, secrets, r)
		}
		return out
	}
	return v
}

// streamRedactor redacts text that arrives in pieces (streamed tokens), where a secret may
// be split across pieces. It holds back the shortest tail that could still grow into a
// secret, or that overlaps one, and releases it once the next piece shows it is not one.
type streamRedactor struct {
	mu      sync.Mutex
	secrets *secretSet
	held    string
}

// write takes the next piece and returns the text that is safe to show now, redacted.
func (r *streamRedactor) write(piece string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	buf := r.held + piece
	secrets, rep := r.secrets.snapshot()
	if rep == nil {
		r.held = ""
		return buf
	}
	cut := holdFrom(buf, secrets)
	r.held = buf[cut:]
	return rep.Replace(buf[:cut])
}

// flush returns whatever is held back, redacted, and starts afresh.
func (r *streamRedactor) flush() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	held := r.held
	r.held = ""
	return r.secrets.Redact(held)
}

// holdFrom returns where the tail of buf that must be held back starts: the longest suffix
// that is the beginning of a secret (more text may complete it), widened to the start of
// any secret occurrence it cuts through, so that the text before it can be redacted alone.
func holdFrom(buf string, secrets []string) int {
	cut := len(buf)
	for _, s := range secrets {
		for k := min(len(s), len(buf)); k > 0 && len(buf)-k < cut; k-- {
			if strings.HasPrefix(s, buf[len(buf)-k:]) {
				cut = len(buf) - k
				break
			}
		}
	}
	for moved := true; moved && cut > 0; {
		moved = false
		for _, s := range secrets {
			// an occurrence starting before cut and ending after it
			lo := max(0, cut-len(s)+1)
			if i := strings.Index(buf[lo:min(len(buf), cut+len(s)-1)], s); i >= 0 && lo+i < cut {
				cut, moved = lo+i, true
			}
		}
	}
	return cut
}

// endStream flushes the streamed tokens a call's Env held back (see streamRedactor).
func endStream(call *steps.Call) {
	if s, ok := call.Env.(*stepEnv); ok {
		s.endStream()
	}
}

// noteSecretVars adds the values of the vars declared secret: true to the redaction set.
func (fl *Flow) noteSecretVars(vars map[string]any) {
	for _, v := range fl.Spec.Vars {
		if val, ok := vars[v.Name]; ok && v.Secret {
			fl.secrets.addVar(val)
		}
	}
}

// redactErr hides secrets in err's text. Diagnostics stay diagnostics (callers render them
// one by one), each with its summary and detail redacted; any other error keeps only its
// redacted text.
func (fl *Flow) redactErr(err error) error {
	var de *spec.DiagnosticsError
	if errors.As(err, &de) {
		diags := make(spec.Diagnostics, len(de.Diags))
		for i, d := range de.Diags {
			d.Summary, d.Detail = fl.Redact(d.Summary), fl.Redact(d.Detail)
			diags[i] = d
		}
		return &spec.DiagnosticsError{Diags: diags}
	}
	if msg := fl.Redact(err.Error()); msg != err.Error() {
		return errors.New(msg)
	}
	return err
}

// holdsSecret reports whether redacting v would change any string in it, that is whether
// v carries a secret (a number secret counts once it is in text, as redactValue sees it).
func (s *secretSet) holdsSecret(v any) bool {
	secrets, r := s.snapshot()
	if r == nil {
		return false
	}
	return anyString(v, func(x string) bool { return redactCuts(r.Replace(x), secrets) != x })
}

// anyString reports whether f holds for a string anywhere in v (a string, or the lists
// and objects decoded from JSON).
func anyString(v any, f func(string) bool) bool {
	switch x := v.(type) {
	case string:
		return f(x)
	case map[string]any:
		for _, e := range x {
			if anyString(e, f) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if anyString(e, f) {
				return true
			}
		}
	}
	return false
}
