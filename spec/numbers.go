package spec

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Values travel between steps, into the run store and to providers as JSON, which has no
// infinity or NaN, and aiflow's integers are 64-bit. These checks refuse numbers outside
// that where they are written, instead of a run failing later with "json: unsupported
// value" or a too-large integer silently turning into a float.

// intLiteralRE matches what YAML reads as a decimal integer, which yaml.v3 turns into a
// float (or, between 2^63 and 2^64, an unsigned integer) when it overflows int64.
var intLiteralRE = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)

// numberLikeRE matches plain scalars YAML resolves as numbers; yaml.v3 keeps one as a
// string when it does not fit (1e400, 0x1FFFFFFFFFFFFFFFF).
var numberLikeRE = regexp.MustCompile(`^[-+]?((\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+)$`)

const int64Range = "integers are 64-bit, from -9223372036854775808 to 9223372036854775807"

// checkNumbers reports every number inside n that JSON cannot carry or that overflows.
func (p *parser) checkNumbers(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		p.checkNumber(n, path)
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p.checkNumbers(n.Content[i+1], join(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p.checkNumbers(c, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

func (p *parser) checkNumber(n *yaml.Node, path string) {
	text := strings.ReplaceAll(n.Value, "_", "")
	switch n.Tag {
	case "!!str":
		if n.Style == 0 && numberLikeRE.MatchString(n.Value) { // plain, so YAML meant a number
			what := "number"
			if !strings.ContainsAny(strings.ToLower(n.Value), ".e") || strings.Contains(n.Value, "0x") {
				what = "integer"
			}
			p.errf(n, path, "%s %s is out of range", what, n.Value)
			p.diags[len(p.diags)-1].Detail = int64Range + ", numbers are 64-bit floats up to about 1.8e308; quote it to keep it as text"
		}
	case "!!int":
		if _, err := strconv.ParseInt(text, 0, 64); err != nil {
			p.errf(n, path, "integer %s is out of range", n.Value)
			p.diags[len(p.diags)-1].Detail = int64Range + `; quote it to keep it as text ("` + n.Value + `")`
		}
	case "!!float":
		f, err := strconv.ParseFloat(text, 64)
		switch {
		case err == nil && !math.IsInf(f, 0) && !math.IsNaN(f):
			if intLiteralRE.MatchString(n.Value) { // an integer yaml.v3 could not fit in int64
				p.errf(n, path, "integer %s is out of range", n.Value)
				p.diags[len(p.diags)-1].Detail = int64Range + `; quote it to keep it as text, or write it with an exponent (1e20) for a float`
			}
		case err != nil && !isInfNaN(n.Value):
			p.errf(n, path, "number %s is out of range", n.Value)
			p.diags[len(p.diags)-1].Detail = "numbers are 64-bit floats, at most about 1.8e308 in size; quote it to keep it as text"
		default:
			p.errf(n, path, "%s is not a finite number", n.Value)
			p.diags[len(p.diags)-1].Detail = "values travel between steps as JSON, which has no infinity or NaN; use a large finite number such as 1e308, or null"
		}
	}
}

func isInfNaN(s string) bool {
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case ".inf", ".nan", "inf", "nan", "infinity":
		return true
	}
	return false
}

// finiteProblem describes the first infinity or NaN inside v ("" when there is none),
// with where it is: "+Inf", or "+Inf at [1].a" inside a list or object.
func finiteProblem(v any, at string) string {
	switch x := v.(type) {
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			s := strconv.FormatFloat(x, 'g', -1, 64)
			if math.IsInf(x, 1) {
				s = "+Inf"
			}
			if at != "" {
				s += " at " + at
			}
			return s
		}
	case float32:
		return finiteProblem(float64(x), at)
	case []any:
		for i, e := range x {
			if s := finiteProblem(e, fmt.Sprintf("%s[%d]", at, i)); s != "" {
				return s
			}
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if s := finiteProblem(x[k], at+"."+k); s != "" {
				return s
			}
		}
	}
	return ""
}

// checkFinite returns an error naming var v when val holds an infinity or NaN.
func checkFinite(v *Var, val any) error {
	s := finiteProblem(val, "")
	switch {
	case s == "":
		return nil
	case strings.Contains(s, " at "):
		return fmt.Errorf("holds %s, but var %q must hold finite numbers only (JSON has no infinity or NaN)", s, v.Name)
	}
	return fmt.Errorf("is %s, but var %q must be a finite number (JSON has no infinity or NaN)", s, v.Name)
}

// integral reports whether x is a whole number that fits in int64.
func integral(x float64) (whole, fits bool) {
	if math.IsInf(x, 0) || math.IsNaN(x) || x != math.Trunc(x) {
		return false, false
	}
	return true, x >= -(1<<63) && x < 1<<63
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
