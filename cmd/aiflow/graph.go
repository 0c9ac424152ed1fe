package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/aiflow/aiflow/engine"
)

func init() {
	register(command{name: "graph", summary: "Print the step graph as DOT or Mermaid", run: graphCmd})
}

func graphCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("graph", stderr)
	format := fs.String("format", "dot", "dot or mermaid")
	allowRead := allowReadFlag(fs)
	pos, err := parseArgs(fs, args)
	v := view{stdout: stdout, stderr: stderr}
	if err != nil {
		return exitError
	}
	path, err := flowArg(pos)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	fl, diags := loadFlow(path, *allowRead)
	if fl == nil {
		return v.fail(errInvalidFlow, fmt.Errorf("invalid flow %s", path), diags)
	}
	switch *format {
	case "dot":
		writeDOT(stdout, fl)
	case "mermaid":
		writeMermaid(stdout, fl)
	default:
		return v.fail(errUsage, fmt.Errorf("--format: unknown format %q (use dot or mermaid)", *format), nil)
	}
	return exitOK
}

func writeDOT(w io.Writer, fl *engine.Flow) {
	fmt.Fprintf(w, "digraph %q {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n", fl.Spec.Name)
	for _, id := range fl.Order {
		n := fl.Nodes[id]
		fmt.Fprintf(w, "  %q [label=\"%s\\n(%s)\"];\n", id, id, n.Kind.Name)
	}
	for _, id := range fl.Order {
		for _, d := range fl.Nodes[id].Deps {
			fmt.Fprintf(w, "  %q -> %q;\n", d, id)
		}
	}
	fmt.Fprintln(w, "}")
}

func writeMermaid(w io.Writer, fl *engine.Flow) {
	fmt.Fprintln(w, "flowchart LR")
	for _, id := range fl.Order {
		n := fl.Nodes[id]
		fmt.Fprintf(w, "  %s[\"%s<br/>(%s)\"]\n", id, id, strings.ReplaceAll(n.Kind.Name, "\"", ""))
	}
	for _, id := range fl.Order {
		for _, d := range fl.Nodes[id].Deps {
			fmt.Fprintf(w, "  %s --> %s\n", d, id)
		}
	}
}
