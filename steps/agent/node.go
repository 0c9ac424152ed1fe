package agent

import (
	"fmt"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/spec"
)

// node is a YAML node of the tools: list with the file and dotted path it came from, so
// that every problem names file:line:col and the field.
type node struct {
	n    *yaml.Node
	file string
	path string
}

func (n node) pos() spec.Pos { return spec.Pos{File: n.file, Line: n.n.Line, Col: n.n.Column} }

func (n node) errorf(d *spec.Diagnostics, format string, args ...any) {
	d.Errorf(n.pos(), n.path, format, args...)
}

func (n node) item(i int, v *yaml.Node) node {
	return node{n: v, file: n.file, path: fmt.Sprintf("%s[%d]", n.path, i)}
}

// fields reads a mapping, reporting unknown keys at the key's line. The result maps each
// known key present to its value node.
func (n node) fields(d *spec.Diagnostics, what string, allowed ...string) (map[string]node, bool) {
	if n.n.Kind != yaml.MappingNode {
		n.errorf(d, "%s must be a mapping, got %s", what, describe(n.n))
		return nil, false
	}
	out := map[string]node{}
	for i := 0; i+1 < len(n.n.Content); i += 2 {
		k, v := n.n.Content[i], n.n.Content[i+1]
		if !contains(allowed, k.Value) {
			*d = append(*d, spec.Diagnostic{Severity: spec.Error, Pos: spec.Pos{File: n.file, Line: k.Line, Col: k.Column},
				Path: n.path + "." + k.Value, Summary: fmt.Sprintf("unknown key %q in %s%s", k.Value, what, spec.DidYouMean(k.Value, allowed)),
				Detail: "allowed: " + spec.QuoteList(allowed)})
			continue
		}
		out[k.Value] = node{n: v, file: n.file, path: n.path + "." + k.Value}
	}
	return out, true
}

// str reads a scalar as text.
func (n node) str(d *spec.Diagnostics, what string) (string, bool) {
	if n.n.Kind != yaml.ScalarNode || n.n.Tag == "!!null" {
		n.errorf(d, "%s must be a string, got %s", what, describe(n.n))
		return "", false
	}
	return n.n.Value, true
}

// strs reads a list of scalars.
func (n node) strs(d *spec.Diagnostics, what string) ([]string, bool) {
	if n.n.Kind != yaml.SequenceNode {
		n.errorf(d, "%s must be a list of strings, got %s", what, describe(n.n))
		return nil, false
	}
	out := make([]string, 0, len(n.n.Content))
	for i, c := range n.n.Content {
		s, ok := n.item(i, c).str(d, what+" entries")
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// strMap reads a mapping of scalars.
func (n node) strMap(d *spec.Diagnostics, what string) (map[string]string, bool) {
	if n.n.Kind != yaml.MappingNode {
		n.errorf(d, "%s must be a mapping of strings, got %s", what, describe(n.n))
		return nil, false
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.n.Content); i += 2 {
		v := node{n: n.n.Content[i+1], file: n.file, path: n.path + "." + n.n.Content[i].Value}
		s, ok := v.str(d, what+" values")
		if !ok {
			return nil, false
		}
		out[n.n.Content[i].Value] = s
	}
	return out, true
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return spec.DescribeValue(spec.NodeToAny(n))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
