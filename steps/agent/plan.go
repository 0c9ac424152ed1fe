package agent

import (
	"context"
	"fmt"
)

// PlanNotes lists the agent's tools for `aiflow plan`, one line each: "tool <name>:
// <backing>". An MCP server is one line naming its command: its tools are known only
// once it runs (see DiscoverPlanNotes). No I/O.
func (a *agent) PlanNotes() []string {
	var out []string
	for _, d := range a.tools {
		if d.mcp != nil {
			out = append(out, "tools of "+d.mcp.note()+": listed when the server starts")
			continue
		}
		out = append(out, fmt.Sprintf("tool %s: %s", d.spec.Name, d.backing.note()))
	}
	return out
}

// SubFlows lists the flow files the agent's flow tools run (paths relative to the flow
// file), so that validation can check them before a run.
func (a *agent) SubFlows() []string {
	var out []string
	for _, d := range a.tools {
		if f, ok := d.backing.(*flowTool); ok {
			out = append(out, f.path)
		}
	}
	return out
}

// DiscoverPlanNotes is PlanNotes with every MCP server started, its tools listed as
// "tool <name>: mcp <command> — <description>", and the server stopped again. It runs
// the servers' commands, so plan should call it only when asked to and with a deadline.
func (a *agent) DiscoverPlanNotes(ctx context.Context) ([]string, error) {
	var out []string
	for _, d := range a.tools {
		if d.mcp == nil {
			out = append(out, fmt.Sprintf("tool %s: %s", d.spec.Name, d.backing.note()))
			continue
		}
		c, err := d.mcp.connect(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range c.tools {
			out = append(out, fmt.Sprintf("tool %s: %s — %s", t.Name, d.mcp.note(), shorten(t.Description, 120)))
		}
		if err := c.close(); err != nil {
			return nil, fmt.Errorf("stopping mcp server %s: %w", d.mcp.command[0], err)
		}
	}
	return out, nil
}
