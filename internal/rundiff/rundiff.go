// Package rundiff compares two recorded runs step by step: what aiflow runs diff prints
// and the run viewer shows, computed once.
package rundiff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aiflow/aiflow/engine/store"
)

// StepSummary is one step of a run, its items folded together, as a diff of two runs
// compares it (aiflow runs diff and the run viewer share it).
type StepSummary struct {
	ID      string          `json:"id"`
	Status  string          `json:"status"`
	Models  []string        `json:"models,omitempty"`
	Inputs  string          `json:"inputs_hash,omitempty"` // over the items' inputs, prompt and params
	Output  json.RawMessage `json:"output,omitempty"`
	Items   int             `json:"items"`
	USD     float64         `json:"usd"`
	Tokens  int             `json:"tokens"`
	Latency time.Duration   `json:"latency_ns"`
	Error   string          `json:"error,omitempty"`
	outputs map[int]string
	// whole is the whole-step record's usage, counted only when the step has no items:
	// a for_each step's whole record repeats the sum of its items'.
	wholeUSD    float64
	wholeTokens int
}

// Change is one difference between two runs.
type Change struct {
	Scope string `json:"scope"` // vars, labels, outputs, steps.<id>, run
	Field string `json:"field"`
	A     any    `json:"a"`
	B     any    `json:"b"`
	Note  string `json:"note,omitempty"`
}

// Summarize folds each step's records (whole step and items) into one summary, steps
// in the order of their first record.
func Summarize(recs []store.StepRecord) []StepSummary {
	recs = OrderSteps(recs)
	var out []StepSummary
	idx := map[string]int{}
	hashes := map[string]*bytes.Buffer{}
	starts, ends := map[string]time.Time{}, map[string]time.Time{}
	for _, r := range recs {
		i, ok := idx[r.StepID]
		if !ok {
			i = len(out)
			idx[r.StepID] = i
			out = append(out, StepSummary{ID: r.StepID, outputs: map[int]string{}})
			hashes[r.StepID] = &bytes.Buffer{}
		}
		s := &out[i]
		if r.Item == store.WholeStep {
			s.Status, s.Output, s.Error = r.Status, r.Output, r.Error
		} else {
			s.Items++
			s.outputs[r.Item] = string(r.Output)
			if s.Error == "" {
				s.Error = r.Error
			}
		}
		if s.Status == "" {
			s.Status = r.Status
		}
		if r.Model != "" && !contains(s.Models, r.Model) {
			s.Models = append(s.Models, r.Model)
		}
		fmt.Fprintf(hashes[r.StepID], "%d:%s:%s\n", r.Item, r.InputsHash, r.CacheKey)
		if r.Item == store.WholeStep {
			s.wholeUSD += r.Usage.USD
			s.wholeTokens += r.Usage.InputTokens + r.Usage.OutputTokens
		} else {
			s.USD += r.Usage.USD
			s.Tokens += r.Usage.InputTokens + r.Usage.OutputTokens
		}
		if t := starts[r.StepID]; !r.StartedAt.IsZero() && (t.IsZero() || r.StartedAt.Before(t)) {
			starts[r.StepID] = r.StartedAt
		}
		if r.FinishedAt.After(ends[r.StepID]) {
			ends[r.StepID] = r.FinishedAt
		}
	}
	for i := range out {
		s := &out[i]
		if s.Items == 0 {
			s.USD, s.Tokens = s.wholeUSD, s.wholeTokens
		}
		sort.Strings(s.Models)
		if b := hashes[s.ID].Bytes(); len(bytes.ReplaceAll(b, []byte(":"), nil)) > 0 {
			sum := sha256.Sum256(b)
			s.Inputs = hex.EncodeToString(sum[:8])
		}
		if !starts[s.ID].IsZero() {
			s.Latency = ends[s.ID].Sub(starts[s.ID])
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// JSONText is v as compact JSON, a RawMessage re-encoded, so equal values compare equal.
func JSONText(v any) string {
	if raw, ok := v.(json.RawMessage); ok {
		var x any
		if json.Unmarshal(raw, &x) != nil {
			return string(raw)
		}
		v = x
	}
	return plainJSON(v)
}

func diffMaps(scope string, a, b map[string]any, out []Change) []Change {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if JSONText(a[k]) != JSONText(b[k]) {
			out = append(out, Change{Scope: scope, Field: k, A: a[k], B: b[k]})
		}
	}
	return out
}

// Runs lists what changed from run a to run b, given their step summaries: the flow,
// vars, variant labels, outputs, each step, cost and latency.
func Runs(a, b store.Run, sa, sb []StepSummary) []Change {
	var out []Change
	if a.FlowHash != b.FlowHash {
		out = append(out, Change{Scope: "run", Field: "flow", A: a.FlowHash[:min(12, len(a.FlowHash))], B: b.FlowHash[:min(12, len(b.FlowHash))], Note: "the flow file changed"})
	}
	out = diffMaps("vars", a.Vars, b.Vars, out)
	la, lb := map[string]any{}, map[string]any{}
	for k, v := range a.Labels {
		if strings.HasPrefix(k, "variant.") {
			la[k] = v
		}
	}
	for k, v := range b.Labels {
		if strings.HasPrefix(k, "variant.") {
			lb[k] = v
		}
	}
	out = diffMaps("labels", la, lb, out)
	out = diffMaps("outputs", a.Outputs, b.Outputs, out)
	byID := map[string]StepSummary{}
	for _, s := range sb {
		byID[s.ID] = s
	}
	seen := map[string]bool{}
	for _, x := range sa {
		seen[x.ID] = true
		y, ok := byID[x.ID]
		scope := "steps." + x.ID
		if !ok {
			out = append(out, Change{Scope: scope, Field: "step", A: x.Status, B: nil, Note: "only in A"})
			continue
		}
		out = diffStep(scope, x, y, out)
	}
	for _, y := range sb {
		if !seen[y.ID] {
			out = append(out, Change{Scope: "steps." + y.ID, Field: "step", A: nil, B: y.Status, Note: "only in B"})
		}
	}
	if a.Usage.USD != b.Usage.USD {
		out = append(out, Change{Scope: "run", Field: "cost_usd", A: a.Usage.USD, B: b.Usage.USD})
	}
	da, db := a.FinishedAt.Sub(a.StartedAt), b.FinishedAt.Sub(b.StartedAt)
	out = append(out, Change{Scope: "run", Field: "latency", A: da.Round(time.Millisecond).String(), B: db.Round(time.Millisecond).String()})
	return out
}

func diffStep(scope string, x, y StepSummary, out []Change) []Change {
	if x.Status != y.Status {
		out = append(out, Change{Scope: scope, Field: "status", A: x.Status, B: y.Status})
	}
	if strings.Join(x.Models, ",") != strings.Join(y.Models, ",") {
		out = append(out, Change{Scope: scope, Field: "model", A: strings.Join(x.Models, ", "), B: strings.Join(y.Models, ", ")})
	}
	if x.Inputs != y.Inputs {
		out = append(out, Change{Scope: scope, Field: "inputs", A: x.Inputs, B: y.Inputs, Note: "inputs, prompt or params differ (their hashes)"})
	}
	if x.Items > 0 || y.Items > 0 {
		changed := 0
		for i := 0; i < max(x.Items, y.Items); i++ {
			if x.outputs[i] != y.outputs[i] {
				changed++
			}
		}
		if changed > 0 || x.Items != y.Items {
			out = append(out, Change{Scope: scope, Field: "output", A: fmt.Sprintf("%d items", x.Items), B: fmt.Sprintf("%d items", y.Items), Note: fmt.Sprintf("%d items differ", changed)})
		}
	} else if JSONText(x.Output) != JSONText(y.Output) {
		out = append(out, Change{Scope: scope, Field: "output", A: x.Output, B: y.Output})
	}
	if x.Error != y.Error {
		out = append(out, Change{Scope: scope, Field: "error", A: x.Error, B: y.Error})
	}
	if x.USD != y.USD || x.Tokens != y.Tokens {
		out = append(out, Change{Scope: scope, Field: "cost", A: fmt.Sprintf("$%.6f, %d tokens", x.USD, x.Tokens), B: fmt.Sprintf("$%.6f, %d tokens", y.USD, y.Tokens)})
	}
	if x.Latency.Round(time.Millisecond) != y.Latency.Round(time.Millisecond) {
		out = append(out, Change{Scope: scope, Field: "latency", A: x.Latency.Round(time.Millisecond).String(), B: y.Latency.Round(time.Millisecond).String()})
	}
	return out
}

func plainJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// OrderSteps groups records by step, steps in the order of their first record (the
// store orders by start time, which interleaves items that ran concurrently), and lists
// a for_each step's whole-step record before its items, in item order.
func OrderSteps(recs []store.StepRecord) []store.StepRecord {
	first := map[string]int{}
	for i, r := range recs {
		if _, ok := first[r.StepID]; !ok {
			first[r.StepID] = i
		}
	}
	out := append([]store.StepRecord(nil), recs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if first[a.StepID] != first[b.StepID] {
			return first[a.StepID] < first[b.StepID]
		}
		return a.Item < b.Item // WholeStep (-1) first
	})
	return out
}

// StepChange sorts a step for a side-by-side view: "added" (only in b), "removed"
// (only in a), "changed" (status, model, inputs, output, error or cost differ) or
// "same". Latency alone does not count: two runs never take the same time.
func StepChange(id string, changes []Change) string {
	scope := "steps." + id
	out := "same"
	for _, c := range changes {
		if c.Scope != scope {
			continue
		}
		switch {
		case c.Field == "step" && c.Note == "only in A":
			return "removed"
		case c.Field == "step" && c.Note == "only in B":
			return "added"
		case c.Field != "latency":
			out = "changed"
		}
	}
	return out
}
