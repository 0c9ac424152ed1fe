package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aiflow/aiflow/engine/store"
)

// stepSummary is one step of a run, its items folded together, as runs diff compares it.
type stepSummary struct {
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
}

// change is one difference between the runs.
type change struct {
	Scope string `json:"scope"` // vars, labels, outputs, steps.<id>, run
	Field string `json:"field"`
	A     any    `json:"a"`
	B     any    `json:"b"`
	Note  string `json:"note,omitempty"`
}

// runsDiffCmd is `aiflow runs diff A B [flow.yaml]`: per step and per output, what changed
// between two runs: vars and variants, inputs (prompt, params: their hash), model,
// outputs, status, cost and latency.
func runsDiffCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("runs diff", stderr)
	o := outputFlag(fs)
	dir := fs.String("state-dir", "", "state directory (default .aiflow beside the flow, or ./.aiflow)")
	pos, v, err := parseCommand(fs, o, args, stdout, stderr)
	if err != nil {
		return v.failArgs(err)
	}
	if len(pos) < 2 || len(pos) > 3 {
		return v.fail(errUsage, errors.New("usage: aiflow runs diff RUN_A RUN_B [flow.yaml] (a run id, last, or last~N)"), nil)
	}
	flow := ""
	if len(pos) == 3 {
		flow = pos[2]
	}
	sd, err := runsStateDir(*dir, flow)
	if err == nil && sd == "" {
		err = fmt.Errorf("%s has no state yet", flow)
	}
	if err != nil {
		return v.fail(errState, err, nil)
	}
	st, err := openStore(sd)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	defer st.Close()
	ctx := context.Background()
	var runs [2]store.Run
	var steps [2][]stepSummary
	for i, id := range pos[:2] {
		r, err := resolveRun(ctx, st, id, flow)
		if err != nil {
			return v.fail(errState, err, nil)
		}
		recs, err := st.Steps(ctx, r.ID)
		if err != nil {
			return v.fail(errState, err, nil)
		}
		runs[i], steps[i] = r, summarizeSteps(orderSteps(recs))
	}
	changes := diffRuns(runs[0], runs[1], steps[0], steps[1])
	if v.json {
		v.writeJSON(map[string]any{"format_version": jsonFormatVersion, "a": runs[0].ID, "b": runs[1].ID, "changes": nonNilChanges(changes), "diagnostics": diagList(nil)})
		return exitOK
	}
	printDiff(v.stdout, runs[0], runs[1], changes)
	return exitOK
}

func nonNilChanges(c []change) []change {
	if c == nil {
		return []change{}
	}
	return c
}

// resolveRun finds a run by id, or last / last~N (the newest runs, of flow when given).
func resolveRun(ctx context.Context, st *store.Store, id, flow string) (store.Run, error) {
	if rest, ok := strings.CutPrefix(id, "last"); ok {
		n := 0
		if rest != "" {
			if _, err := fmt.Sscanf(rest, "~%d", &n); err != nil || n < 0 {
				return store.Run{}, fmt.Errorf("run %q: want a run id, last or last~N", id)
			}
		}
		opts := store.ListRunsOpts{Limit: n + 1}
		if flow != "" {
			opts.Flow, _ = filepath.Abs(flow)
		}
		runs, err := st.ListRuns(ctx, opts)
		if err != nil {
			return store.Run{}, err
		}
		if len(runs) <= n {
			return store.Run{}, fmt.Errorf("run %s: only %d runs recorded", id, len(runs))
		}
		return runs[n], nil
	}
	r, err := st.GetRun(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, fmt.Errorf("run %s not found", id)
	}
	return r, err
}

// summarizeSteps folds each step's records (whole step and items) into one summary.
func summarizeSteps(recs []store.StepRecord) []stepSummary {
	var out []stepSummary
	idx := map[string]int{}
	hashes := map[string]*bytes.Buffer{}
	starts, ends := map[string]time.Time{}, map[string]time.Time{}
	for _, r := range recs {
		i, ok := idx[r.StepID]
		if !ok {
			i = len(out)
			idx[r.StepID] = i
			out = append(out, stepSummary{ID: r.StepID, outputs: map[int]string{}})
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
		s.USD += r.Usage.USD
		s.Tokens += r.Usage.InputTokens + r.Usage.OutputTokens
		if t := starts[r.StepID]; !r.StartedAt.IsZero() && (t.IsZero() || r.StartedAt.Before(t)) {
			starts[r.StepID] = r.StartedAt
		}
		if r.FinishedAt.After(ends[r.StepID]) {
			ends[r.StepID] = r.FinishedAt
		}
	}
	for i := range out {
		s := &out[i]
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

func jsonText(v any) string {
	if raw, ok := v.(json.RawMessage); ok {
		var x any
		if json.Unmarshal(raw, &x) != nil {
			return string(raw)
		}
		v = x
	}
	return plainJSON(v)
}

func diffMaps(scope string, a, b map[string]any, out []change) []change {
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
		if jsonText(a[k]) != jsonText(b[k]) {
			out = append(out, change{Scope: scope, Field: k, A: a[k], B: b[k]})
		}
	}
	return out
}

func diffRuns(a, b store.Run, sa, sb []stepSummary) []change {
	var out []change
	if a.FlowHash != b.FlowHash {
		out = append(out, change{Scope: "run", Field: "flow", A: a.FlowHash[:min(12, len(a.FlowHash))], B: b.FlowHash[:min(12, len(b.FlowHash))], Note: "the flow file changed"})
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
	byID := map[string]stepSummary{}
	for _, s := range sb {
		byID[s.ID] = s
	}
	seen := map[string]bool{}
	for _, x := range sa {
		seen[x.ID] = true
		y, ok := byID[x.ID]
		scope := "steps." + x.ID
		if !ok {
			out = append(out, change{Scope: scope, Field: "step", A: x.Status, B: nil, Note: "only in A"})
			continue
		}
		out = diffStep(scope, x, y, out)
	}
	for _, y := range sb {
		if !seen[y.ID] {
			out = append(out, change{Scope: "steps." + y.ID, Field: "step", A: nil, B: y.Status, Note: "only in B"})
		}
	}
	if a.Usage.USD != b.Usage.USD {
		out = append(out, change{Scope: "run", Field: "cost_usd", A: a.Usage.USD, B: b.Usage.USD})
	}
	da, db := a.FinishedAt.Sub(a.StartedAt), b.FinishedAt.Sub(b.StartedAt)
	out = append(out, change{Scope: "run", Field: "latency", A: da.Round(time.Millisecond).String(), B: db.Round(time.Millisecond).String()})
	return out
}

func diffStep(scope string, x, y stepSummary, out []change) []change {
	if x.Status != y.Status {
		out = append(out, change{Scope: scope, Field: "status", A: x.Status, B: y.Status})
	}
	if strings.Join(x.Models, ",") != strings.Join(y.Models, ",") {
		out = append(out, change{Scope: scope, Field: "model", A: strings.Join(x.Models, ", "), B: strings.Join(y.Models, ", ")})
	}
	if x.Inputs != y.Inputs {
		out = append(out, change{Scope: scope, Field: "inputs", A: x.Inputs, B: y.Inputs, Note: "inputs, prompt or params differ (their hashes)"})
	}
	if x.Items > 0 || y.Items > 0 {
		changed := 0
		for i := 0; i < max(x.Items, y.Items); i++ {
			if x.outputs[i] != y.outputs[i] {
				changed++
			}
		}
		if changed > 0 || x.Items != y.Items {
			out = append(out, change{Scope: scope, Field: "output", A: fmt.Sprintf("%d items", x.Items), B: fmt.Sprintf("%d items", y.Items), Note: fmt.Sprintf("%d items differ", changed)})
		}
	} else if jsonText(x.Output) != jsonText(y.Output) {
		out = append(out, change{Scope: scope, Field: "output", A: x.Output, B: y.Output})
	}
	if x.Error != y.Error {
		out = append(out, change{Scope: scope, Field: "error", A: x.Error, B: y.Error})
	}
	if x.USD != y.USD || x.Tokens != y.Tokens {
		out = append(out, change{Scope: scope, Field: "cost", A: fmt.Sprintf("$%.6f, %d tokens", x.USD, x.Tokens), B: fmt.Sprintf("$%.6f, %d tokens", y.USD, y.Tokens)})
	}
	if x.Latency.Round(time.Millisecond) != y.Latency.Round(time.Millisecond) {
		out = append(out, change{Scope: scope, Field: "latency", A: x.Latency.Round(time.Millisecond).String(), B: y.Latency.Round(time.Millisecond).String()})
	}
	return out
}

func printDiff(w io.Writer, a, b store.Run, changes []change) {
	fmt.Fprintf(w, "Runs %s (A) → %s (B) of %s\n", a.ID, b.ID, a.FlowName)
	scope := ""
	for _, c := range changes {
		if c.Scope != scope {
			scope = c.Scope
			fmt.Fprintf(w, "\n%s:\n", scope)
		}
		note := ""
		if c.Note != "" {
			note = "  (" + c.Note + ")"
		}
		as, bs := diffText(c.A), diffText(c.B)
		if len(as)+len(bs) > 100 {
			fmt.Fprintf(w, "  %s:%s\n    - %s\n    + %s\n", c.Field, note, abbreviate(as, 300), abbreviate(bs, 300))
			continue
		}
		fmt.Fprintf(w, "  %s: %s → %s%s\n", c.Field, as, bs, note)
	}
	if len(changes) <= 1 {
		fmt.Fprintln(w, "\nNo differences in vars, outputs or steps.")
	}
}

func diffText(v any) string {
	switch x := v.(type) {
	case nil:
		return "(none)"
	case string:
		return x
	}
	return jsonText(v)
}
