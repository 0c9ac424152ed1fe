package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/rundiff"
)

// runsDiffCmd is `aiflow runs diff A B [flow.yaml]`: per step and per output, what changed
// between two runs: vars and variants, inputs (prompt, params: their hash), model,
// outputs, status, cost and latency.
func runsDiffCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("runs diff", stderr)
	o := outputFlag(fs)
	dir := fs.String("state-dir", "", "state directory (default .aiflow beside the flow, or ./.aiflow)")
	stateURL := stateURLFlag(fs)
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
	st, _, err := openRunsState(*dir, *stateURL, flow)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	defer st.Close()
	ctx := context.Background()
	var runs [2]store.Run
	var steps [2][]rundiff.StepSummary
	for i, id := range pos[:2] {
		r, err := resolveRun(ctx, st, id, flow)
		if err != nil {
			return v.fail(errState, err, nil)
		}
		recs, err := st.Steps(ctx, r.ID)
		if err != nil {
			return v.fail(errState, err, nil)
		}
		runs[i], steps[i] = r, rundiff.Summarize(recs)
	}
	changes := rundiff.Runs(runs[0], runs[1], steps[0], steps[1])
	if v.json {
		v.writeJSON(map[string]any{"format_version": jsonFormatVersion, "a": runs[0].ID, "b": runs[1].ID, "changes": nonNilChanges(changes), "diagnostics": diagList(nil)})
		return exitOK
	}
	printDiff(v.stdout, runs[0], runs[1], changes)
	return exitOK
}

func nonNilChanges(c []rundiff.Change) []rundiff.Change {
	if c == nil {
		return []rundiff.Change{}
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

func printDiff(w io.Writer, a, b store.Run, changes []rundiff.Change) {
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
	return rundiff.JSONText(v)
}
