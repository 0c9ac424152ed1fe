package spec

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

func inf(sign int) float64 { return math.Inf(sign) }

// kv is one key/value pair of a mapping.
type kv struct {
	key  string
	k, v *yaml.Node
	path string
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		}
		return fmt.Sprintf("the string %q", abbreviate(n.Value, 40))
	}
	return "something else"
}

// pairs returns a mapping's pairs, or reports that n is not a mapping.
func (p *parser) pairs(n *yaml.Node, path, what string) ([]kv, bool) {
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil, true
		}
		p.errf(n, path, "expected %s, got %s", what, kindName(n))
		return nil, false
	}
	out := make([]kv, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode {
			p.errf(k, path, "mapping keys must be plain strings")
			continue
		}
		out = append(out, kv{key: k.Value, k: k, v: n.Content[i+1], path: join(path, k.Value)})
	}
	return out, true
}

// fields returns a mapping's pairs and reports every key not in allowed.
func (p *parser) fields(n *yaml.Node, path, what string, allowed []string) []kv {
	ps, ok := p.pairs(n, path, what)
	if !ok {
		return nil
	}
	var out []kv
	for _, e := range ps {
		if !contains(allowed, e.key) {
			p.unknownKey(e, allowed)
			continue
		}
		out = append(out, e)
	}
	return out
}

func (p *parser) unknownKey(e kv, allowed []string) {
	sorted := append([]string(nil), allowed...)
	sort.Strings(sorted)
	p.diags = append(p.diags, Diagnostic{Severity: Error, Pos: p.pos(e.k), Path: e.path,
		Summary: fmt.Sprintf("unknown key %q%s", e.key, didYouMean(e.key, allowed)),
		Detail:  "allowed keys: " + strings.Join(sorted, ", ")})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errf(n, path, "expected a string, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

// literal is a string that must not hold an expression (names, kinds).
func (p *parser) literal(n *yaml.Node, path string) (string, bool) {
	s, ok := p.str(n, path)
	if ok && strings.Contains(s, "${") {
		p.errf(n, path, "expressions are not allowed here")
		p.diags[len(p.diags)-1].Detail = "this field is read before anything is evaluated; write a literal value"
		return "", false
	}
	return s, ok
}

// oneOf is a literal that must be one of allowed. An unknown value is reported as
// "unknown <what>" with a did-you-mean and, as the detail, label and the accepted
// values, so every enumerated field (a var's type, the state backend) says alike what
// would be accepted.
func (p *parser) oneOf(n *yaml.Node, path, what string, allowed []string, label string) (string, bool) {
	s, ok := p.literal(n, path)
	if !ok {
		return "", false
	}
	if !contains(allowed, s) {
		p.errf(n, path, "unknown %s %q%s", what, s, didYouMean(s, allowed))
		p.diags[len(p.diags)-1].Detail = label + ": " + strings.Join(allowed, ", ")
		return "", false
	}
	return s, true
}

func (p *parser) integer(n *yaml.Node, path string, min int) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		p.errf(n, path, "expected an integer, got %s", kindName(n))
		return 0, false
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil || i > math.MaxInt32 {
		p.errf(n, path, "integer %s out of range", n.Value)
		return 0, false
	}
	if int(i) < min {
		p.errf(n, path, "must be at least %d, got %d", min, i)
		return 0, false
	}
	return int(i), true
}

func (p *parser) number(n *yaml.Node, path string) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		p.errf(n, path, "expected a number, got %s", kindName(n))
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.errf(n, path, "expected a finite number, got %s", n.Value)
		return 0, false
	}
	return f, true
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		p.errf(n, path, "expected true or false, got %s", kindName(n))
		return false, false
	}
	b, _ := strconv.ParseBool(strings.ToLower(n.Value))
	return b, true
}

// ParseDuration accepts Go durations plus a "d" (day) unit: 90s, 1h30m, 7d.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "d") {
		n, err := strconv.ParseFloat(strings.TrimSuffix(s, "d"), 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(n * 24 * float64(time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return d, nil
}

func (p *parser) duration(n *yaml.Node, path string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errf(n, path, "expected a duration such as 30s, 5m, 24h or 7d, got %s", kindName(n))
		return 0, false
	}
	if n.Tag == "!!int" && n.Value == "0" {
		return 0, true
	}
	d, err := ParseDuration(n.Value)
	if err != nil {
		p.errf(n, path, "invalid duration %q", n.Value)
		p.diags[len(p.diags)-1].Detail = "use a number with a unit: ms, s, m, h or d (e.g. 30s, 5m, 24h, 7d)"
		return 0, false
	}
	return d, true
}

func (p *parser) value(n *yaml.Node, path string) *Value {
	p.checkTemplates(n, path)
	p.checkNumbers(n, path)
	return &Value{Node: n, Path: path, Pos: p.pos(n)}
}

// checkTemplates reports unterminated or empty ${ } anywhere inside n.
func (p *parser) checkTemplates(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" && strings.Contains(n.Value, "${") {
			if _, err := SplitTemplate(n.Value); err != nil {
				p.errf(n, path, "%v", err)
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p.checkTemplates(n.Content[i+1], join(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p.checkTemplates(c, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

func (p *parser) ident(n *yaml.Node, path, what string) bool {
	if !identRE.MatchString(n.Value) {
		p.errf(n, path, "invalid %s %q", what, n.Value)
		p.diags[len(p.diags)-1].Detail = "use letters, digits and underscores, starting with a letter or underscore (expressions refer to it by name)" + suggestIdent(n.Value)
		return false
	}
	return true
}

func suggestIdent(s string) string {
	r := strings.Map(func(c rune) rune {
		if c == '-' || c == ' ' || c == '.' {
			return '_'
		}
		return c
	}, s)
	if identRE.MatchString(r) {
		return fmt.Sprintf(`; e.g. "%s"`, r)
	}
	return ""
}

func (p *parser) refList(n *yaml.Node, path string) []Ref {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []Ref{{Name: n.Value, Pos: p.pos(n)}}
	}
	if n.Kind != yaml.SequenceNode {
		p.errf(n, path, "expected a list of names, got %s", kindName(n))
		return nil
	}
	var out []Ref
	for i, c := range n.Content {
		if s, ok := p.literal(c, fmt.Sprintf("%s[%d]", path, i)); ok {
			out = append(out, Ref{Name: s, Pos: p.pos(c)})
		}
	}
	return out
}

func (p *parser) settings(pairs []kv, skip ...string) []*Setting {
	var out []*Setting
	for _, e := range pairs {
		if contains(skip, e.key) {
			continue
		}
		out = append(out, &Setting{Key: e.key, Value: p.value(e.v, e.path), KeyPos: p.pos(e.k)})
	}
	return out
}
