package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/infra"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/spec"
)

func init() {
	register(command{name: "plan", summary: "Show what a run would do: steps, models, cache hits, estimated cost", run: planCmd})
}

func planCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("plan", stderr)
	o := outputFlag(fs)
	detailed := fs.Bool("detailed-exitcode", false, "exit 2 when the plan has work to do, 0 when it has none (1 when a resource could not be refreshed)")
	refresh := fs.Bool("refresh", true, "read the real state of the flow's resources; -refresh=false plans from the recorded state (offline)")
	var vars varFlags
	fs.Var(&vars, "var", "set a var: name=value or name=@file (repeatable)")
	varsFile := fs.String("vars-file", "", "YAML or JSON file of var values")
	dir := fs.String("state-dir", "", "state directory (default .aiflow beside the flow)")
	urlFlag := stateURLFlag(fs)
	seed := fs.Int64("seed", 0, "seed for split routes")
	budget := fs.Float64("budget", 0, "budget in USD (overrides the flow's budget:)")
	allowRead := allowReadFlag(fs)
	pos, v, err := parseCommand(fs, o, args, stdout, stderr)
	if err != nil {
		return v.failArgs(err)
	}
	path, err := flowArg(pos)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	fl, diags := loadFlow(path, *allowRead)
	if fl == nil {
		return v.fail(errInvalidFlow, fmt.Errorf("invalid flow %s", path), diags)
	}
	fl.Spec.File = absPath(path) // "flow" in -o json: the same path run and apply print
	given, err := parseVars(vars, *varsFile)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	var st *store.Store
	sd := stateDir(*dir, path)
	stateURL, err := resolveStateURL(*urlFlag, fl.Spec)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	if _, statErr := os.Stat(sd); statErr == nil || stateURL != "" {
		if st, err = openStore(sd, stateURL); err != nil {
			return v.fail(errState, err, nil)
		}
		defer st.Close()
	}
	ctx := context.Background()
	p, err := fl.Plan(ctx, engine.PlanOptions{Store: st, Vars: given, Seed: *seed, StateDir: sd, BudgetUSD: *budget, DiscoverTools: true})
	if err != nil {
		var de *spec.DiagnosticsError
		if errors.As(err, &de) {
			return v.fail(errInput, err, de.Diags)
		}
		return v.fail(errState, err, nil)
	}
	diags = append(diags, translationWarnings(ctx, fl, planVars(fl, given))...).Sort()
	var rp *infra.Plan
	if len(fl.Spec.Resources) > 0 || st != nil {
		// Without a state directory (st nil) nothing was applied: plan from nothing,
		// without making the directory; a plan changes nothing.
		if rp, err = infra.NewPlan(ctx, fl, st, infra.Options{StateDir: sd, Vars: given, NoRefresh: !*refresh}); err != nil {
			return v.fail(errState, err, nil)
		}
	}
	changes := p.Changes || (rp != nil && rp.Changes)
	if v.json {
		v.writeJSON(map[string]any{"format_version": jsonFormatVersion, "plan": p, "resources": rp, "changes": changes, "diagnostics": diagList(diags)})
	} else {
		v.diags(diags)
		printPlan(stdout, p)
		if rp != nil && len(rp.Resources) > 0 {
			fmt.Fprintln(stdout)
			infra.Render(stdout, rp)
		}
	}
	if rp != nil {
		// The plan was printed, but it may be wrong for these resources: not a success.
		if n := rp.Unrefreshed(); n > 0 {
			if !v.json {
				fmt.Fprintf(stderr, "Error: %d resource%s could not be refreshed (see above); pass -refresh=false to plan from the recorded state\n", n, plural(n))
			}
			return exitError
		}
	}
	if *detailed && changes {
		return exitChanges
	}
	return exitOK
}

// absPath is path made absolute, or path itself when the working directory is unknown.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

func printPlan(w io.Writer, p *engine.Plan) {
	fmt.Fprintf(w, "Plan for %s: %d step%s\n\n", p.Name, len(p.Steps), plural(len(p.Steps)))
	counts := map[string]int{}
	for _, s := range p.Steps {
		counts[s.Action]++
		line := fmt.Sprintf("  %s %-18s %-10s", actionMark(s.Action), s.ID, s.Uses)
		var notes []string
		if s.Model != "" {
			notes = append(notes, "model "+s.Model)
		} else if len(s.Models) > 1 {
			parts := make([]string, len(s.Models))
			for i, m := range s.Models {
				parts[i] = fmt.Sprintf("%s (%d)", m.Model, m.Items)
			}
			notes = append(notes, "models "+strings.Join(parts, ", "))
		} else if len(s.Candidates) > 1 {
			notes = append(notes, "model decided at run time ("+strings.Join(s.Candidates, " | ")+")")
		}
		if s.Items > 0 {
			notes = append(notes, fmt.Sprintf("%d items", s.Items))
		}
		if s.Action == engine.ActionCached && s.CacheAge != "" {
			notes = append(notes, "cached "+s.CacheAge+" ago")
		} else if s.Reason != "" {
			notes = append(notes, s.Reason)
		}
		if s.Action == engine.ActionRun && (s.Estimate.InputTokens > 0 || s.Estimate.OutputTokens > 0) {
			notes = append(notes, estimateText(s.Estimate, s.Partial))
		}
		if len(s.Needs) > 0 {
			notes = append(notes, "needs "+strings.Join(s.Needs, ", "))
		}
		fmt.Fprintln(w, strings.TrimRight(line+"  "+strings.Join(notes, "; "), " "))
		for _, n := range s.Notes {
			fmt.Fprintf(w, "              %s\n", n)
		}
	}
	fmt.Fprintf(w, "\n%d to run, %d cached, %d computed locally, %d skipped, %d decided at run time.\n",
		counts[engine.ActionRun], counts[engine.ActionCached], counts[engine.ActionCompute], counts[engine.ActionSkip], counts[engine.ActionRuntime])
	fmt.Fprintf(w, "Estimated: %s", estimateText(p.Total, false))
	if p.BudgetUSD > 0 {
		fmt.Fprintf(w, " (budget $%.4f)", p.BudgetUSD)
	}
	fmt.Fprintln(w)
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "Warning: %s\n", warn)
	}
}

func estimateText(e engine.Estimate, partial bool) string {
	cost := fmt.Sprintf("$%.6f", e.USD)
	if !e.Priced {
		cost += " + unpriced models"
	}
	in := fmt.Sprintf("%d", e.InputTokens)
	if partial {
		in = "?"
	}
	return fmt.Sprintf("~%s in / %d out tokens, %s", in, e.OutputTokens, cost)
}

func actionMark(a string) string {
	switch a {
	case engine.ActionRun:
		return "+ run    "
	case engine.ActionCached:
		return "= cached "
	case engine.ActionCompute:
		return "  compute"
	case engine.ActionSkip:
		return "- skip   "
	}
	return "? later  "
}
