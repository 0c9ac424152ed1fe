package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/aiflow/aiflow/engine"
)

func init() {
	register(command{name: "plan", summary: "Show what a run would do: steps, models, cache", run: planCmd})
}

func planCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("plan", stderr)
	o := outputFlag(fs)
	detailed := fs.Bool("detailed-exitcode", false, "exit 2 when the plan has work to do, 0 when it has none")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return exitError
	}
	v, err := parseView(*o, stdout, stderr)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	path, err := flowArg(pos)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	fl, diags := loadFlow(path)
	if fl == nil {
		return v.fail(errInvalidFlow, fmt.Errorf("invalid flow %s", path), diags)
	}
	p := fl.Plan(engine.PlanOptions{})
	if v.json {
		v.writeJSON(map[string]any{"format_version": jsonFormatVersion, "plan": p, "diagnostics": diagList(diags)})
	} else {
		v.diags(diags)
		printPlan(stdout, p)
	}
	if *detailed && p.Changes {
		return exitChanges
	}
	return exitOK
}

func printPlan(w io.Writer, p *engine.Plan) {
	fmt.Fprintf(w, "Plan for %s (%d steps):\n\n", p.Name, len(p.Steps))
	for _, s := range p.Steps {
		deps := "-"
		if len(s.Needs) > 0 {
			deps = strings.Join(s.Needs, ", ")
		}
		line := fmt.Sprintf("  %-6s %-20s %-10s needs: %s", actionMark(s.Action), s.ID, s.Uses, deps)
		if s.Model != "" {
			line += "  model: " + s.Model
			if len(s.Candidates) > 0 {
				line += " (" + strings.Join(s.Candidates, " | ") + ")"
			}
		}
		if s.ForEach {
			line += "  [for_each]"
		}
		if s.Condition {
			line += "  [when]"
		}
		line += "  cache: " + s.Cache
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	for _, r := range p.Resources {
		fmt.Fprintf(w, "  %-6s resource %s (%s)\n", r.Action, r.Name, r.Kind)
	}
}

func actionMark(a string) string {
	switch a {
	case engine.ActionRun:
		return "+ run"
	case engine.ActionCached:
		return "= hit"
	case engine.ActionSkip:
		return "- skip"
	}
	return "? " + a
}
