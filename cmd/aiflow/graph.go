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
	format := fs.String("format", "dot", "dot or mermaid (human output)")
	allowRead := allowReadFlag(fs)
	o := outputFlag(fs)
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
	switch {
	case v.json:
		fl.Spec.File = absPath(path)
		v.writeJSON(map[string]any{"format_version": jsonFormatVersion, "graph": newGraphDoc(fl), "diagnostics": diagList(diags)})
	case *format == "dot":
		writeDOT(stdout, fl)
	case *format == "mermaid":
		writeMermaid(stdout, fl)
	default:
		return v.fail(errUsage, fmt.Errorf("--format: unknown format %q (use dot or mermaid, or -o json)", *format), nil)
	}
	return exitOK
}

// graphDoc is the step graph in graph -o json.
type graphDoc struct {
	Flow  string      `json:"flow"` // the file's path
	Name  string      `json:"name"`
	Nodes []graphNode `json:"nodes"`
	Edges []graphEdge `json:"edges"`
}

type graphNode struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // the step's uses:
}

// graphEdge says that To waits for From. Kind is "data" when To reads From's output in an
// expression, "order" when it only lists it in needs:.
type graphEdge struct {
	From string `json:"from"`
	To   string `json:"to"`
	Kind string `json:"kind"`
}

func newGraphDoc(fl *engine.Flow) graphDoc {
	g := graphDoc{Flow: fl.Spec.File, Name: fl.Spec.Name, Nodes: []graphNode{}, Edges: []graphEdge{}}
	for _, id := range fl.Order {
		n := fl.Nodes[id]
		g.Nodes = append(g.Nodes, graphNode{ID: id, Kind: n.Kind.Name})
		for _, d := range n.Deps {
			kind := "order"
			if n.Refs != nil && len(n.Refs.Steps[d]) > 0 {
				kind = "data"
			}
			g.Edges = append(g.Edges, graphEdge{From: d, To: id, Kind: kind})
		}
	}
	return g
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
