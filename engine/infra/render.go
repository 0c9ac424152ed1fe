package infra

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// symbols and verbs of each action, as terraform plan prints them.
var (
	actionSymbol = map[string]string{ActionCreate: "+", ActionAdopt: "+", ActionUpdate: "~", ActionReplace: "-/+", ActionDestroy: "-", ActionNoop: "="}
	actionVerb   = map[string]string{ActionCreate: "will be created", ActionAdopt: "will be adopted", ActionUpdate: "will be updated in place",
		ActionReplace: "must be replaced", ActionDestroy: "will be destroyed", ActionNoop: "is up to date"}
	summaryOrder = []string{ActionCreate, ActionAdopt, ActionUpdate, ActionReplace, ActionDestroy}
	summaryVerb  = map[string]string{ActionCreate: "create", ActionAdopt: "adopt", ActionUpdate: "update", ActionReplace: "replace", ActionDestroy: "destroy"}
)

// Render writes the plan for people: drift first, then one block per resource that
// changes, a line per resource that does not, and a summary.
func Render(w io.Writer, p *Plan) {
	fmt.Fprintln(w, "Resources:")
	for _, c := range p.Resources {
		renderChange(w, c)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, Summary(p))
	if n := p.Unrefreshed(); n > 0 {
		fmt.Fprintf(w, "%d resource%s could not be refreshed: %s planned from the recorded state and may be incomplete.\n", n, plural(n), map[bool]string{true: "it is", false: "they are"}[n == 1])
	} else if !p.Refreshed {
		fmt.Fprintln(w, "Planned from the recorded state without refreshing (-refresh=false): changes made outside aiflow are not shown.")
	}
}

// Summary is the plan's last line: "Plan: 1 to create, 1 to replace." or "No changes…".
func Summary(p *Plan) string {
	counts := map[string]int{}
	for _, c := range p.Resources {
		counts[c.Action]++
	}
	var parts []string
	for _, a := range summaryOrder {
		if counts[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", counts[a], summaryVerb[a]))
		}
	}
	if len(parts) == 0 {
		return "No changes: the resources match the flow."
	}
	return "Plan: " + strings.Join(parts, ", ") + "."
}

func renderChange(w io.Writer, c *Change) {
	label := c.Kind
	if c.Backend != "" && c.Kind != "prompt" {
		label += ", " + c.Backend
	}
	if len(c.Drift) > 0 {
		fmt.Fprintf(w, "\n  ! %s (%s) has changed outside aiflow:\n", c.Name, label)
		renderAttrs(w, c.Drift, "      ", false)
	}
	line := fmt.Sprintf("  %s %s (%s) %s", actionSymbol[c.Action], c.Name, label, actionVerb[c.Action])
	if c.Action == ActionNoop {
		if c.Info != "" {
			line += " (" + c.Info + ")"
		}
		fmt.Fprintln(w, line)
		renderRefreshError(w, c)
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, line)
	if c.Reason != "" {
		fmt.Fprintf(w, "      # %s\n", c.Reason)
	}
	renderRefreshError(w, c)
	renderAttrs(w, c.Attributes, "      ", c.Action == ActionCreate)
}

func renderRefreshError(w io.Writer, c *Change) {
	if c.RefreshError != "" {
		fmt.Fprintf(w, "      # could not refresh: %s (planned from the recorded state)\n", c.RefreshError)
	}
}

func renderAttrs(w io.Writer, attrs []AttrChange, indent string, create bool) {
	width := 0
	for _, a := range attrs {
		width = max(width, len(a.Name))
	}
	for _, a := range attrs {
		pad := strings.Repeat(" ", width-len(a.Name))
		if create {
			fmt.Fprintf(w, "%s+ %s:%s %s\n", indent, a.Name, pad, value(a.After))
			continue
		}
		line := fmt.Sprintf("%s~ %s:%s %s → %s", indent, a.Name, pad, value(a.Before), value(a.After))
		if a.ForcesReplacement {
			line += " (forces replacement)"
		}
		fmt.Fprintln(w, line)
	}
}

// value renders an attribute value as compact JSON (maps with sorted keys).
func value(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
