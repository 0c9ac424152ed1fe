package spec

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Value is a YAML value from the flow file that may contain `${ … }` expressions anywhere
// inside it. Aliases are already expanded. The engine compiles it; spec only keeps it.
type Value struct {
	Node *yaml.Node
	Path string // dotted field path, e.g. steps.chunks.with.text
	Pos  Pos
}

// Segment is a literal run or an expression inside a template string.
type Segment struct {
	Literal string
	Expr    string // the source between ${ and }, untrimmed
	IsExpr  bool
	Offset  int // byte offset of the segment (of "${" for expressions) in the string
}

// SplitTemplate cuts s into literal and expression segments. "$${" is a literal "${".
// An expression ends at the first "}" outside quotes and nested braces.
func SplitTemplate(s string) ([]Segment, error) {
	var segs []Segment
	var lit strings.Builder
	litStart := 0
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, Segment{Literal: lit.String(), Offset: litStart})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			if lit.Len() == 0 {
				litStart = i
			}
			lit.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			if lit.Len() == 0 {
				litStart = i
			}
			lit.WriteByte(s[i])
			i++
			continue
		}
		end, err := exprEnd(s, i+2)
		if err != nil {
			return nil, err
		}
		flush()
		segs = append(segs, Segment{Expr: s[i+2 : end], IsExpr: true, Offset: i})
		i = end + 1
	}
	flush()
	return segs, nil
}

// exprEnd finds the closing brace of an expression whose body starts at i.
func exprEnd(s string, i int) (int, error) {
	depth := 0
	var quote byte
	for j := i; j < len(s); j++ {
		c := s[j]
		switch {
		case quote != 0:
			if c == '\\' {
				j++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '{' || c == '[' || c == '(':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == '}':
			if depth == 0 {
				if strings.TrimSpace(s[i:j]) == "" {
					return 0, fmt.Errorf("empty expression ${ } at offset %d", i-2)
				}
				return j, nil
			}
			depth--
		}
	}
	return 0, fmt.Errorf("unterminated expression: %q has no closing }", abbreviate(s[i-2:], 40))
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// WholeExpr returns the expression source when s is exactly one `${ … }` (surrounding
// whitespace allowed), so the value keeps the expression's type.
func WholeExpr(s string) (string, bool) {
	segs, err := SplitTemplate(s)
	if err != nil {
		return "", false
	}
	var expr string
	n := 0
	for _, sg := range segs {
		if sg.IsExpr {
			expr = sg.Expr
			n++
		} else if strings.TrimSpace(sg.Literal) != "" {
			return "", false
		}
	}
	return expr, n == 1
}

// TemplateHasExpr reports whether the template string s holds a ${ } expression
// ("$${" is a literal "${"); a malformed one counts as an expression.
func TemplateHasExpr(s string) bool {
	if !strings.Contains(s, "${") {
		return false
	}
	segs, err := SplitTemplate(s)
	if err != nil {
		return true
	}
	for _, sg := range segs {
		if sg.IsExpr {
			return true
		}
	}
	return false
}

// HasExpr reports whether the value contains any expression.
func (v *Value) HasExpr() bool {
	if v == nil || v.Node == nil {
		return false
	}
	return nodeHasExpr(v.Node)
}

func nodeHasExpr(n *yaml.Node) bool {
	if n.Kind == yaml.ScalarNode {
		return n.Tag == "!!str" && strings.Contains(n.Value, "${")
	}
	for _, c := range n.Content {
		if nodeHasExpr(c) {
			return true
		}
	}
	return false
}

// Scalar returns the scalar text, or "" for collections.
func (v *Value) Scalar() string {
	if v == nil || v.Node == nil || v.Node.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Node.Value
}

// Plain converts the value to Go data (map[string]any, []any, string, int, float64, bool,
// nil), leaving expression strings as text.
func (v *Value) Plain() any {
	if v == nil || v.Node == nil {
		return nil
	}
	return NodeToAny(v.Node)
}

// NodeToAny converts an alias-free YAML node to Go data.
func NodeToAny(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return NodeToAny(n.Content[0])
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = NodeToAny(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			l = append(l, NodeToAny(c))
		}
		return l
	case yaml.AliasNode:
		if n.Alias != nil {
			return NodeToAny(n.Alias)
		}
		return nil
	}
	return scalarToAny(n)
}

func scalarToAny(n *yaml.Node) any {
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		return b
	case "!!int":
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return int(i)
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
		switch strings.ToLower(n.Value) {
		case ".inf", "+.inf":
			return inf(1)
		case "-.inf":
			return inf(-1)
		}
	}
	return n.Value
}
