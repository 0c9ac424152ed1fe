package engine_test

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/spec"
)

// exprValue wraps src as the flow value at fuzz.yaml:3:7.
func exprValue(src string) *spec.Value {
	return &spec.Value{Node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: src, Line: 3, Column: 7},
		Path: "steps.x.with.v", Pos: spec.Pos{File: "fuzz.yaml", Line: 3, Col: 7}}
}

// compileErr compiles src with c and returns the text of its diagnostics.
func compileErr(t *testing.T, c *engine.Compiler, src string) string {
	t.Helper()
	_, _, diags := c.Compile(exprValue(src))
	return diags.Err().Error()
}

// TestExprNestingBounded: deeply nested parentheses, brackets and braces are refused with
// a positioned diagnostic instead of overflowing the parser's stack.
func TestExprNestingBounded(t *testing.T) {
	c := engine.NewCompiler(&engine.Funcs{Dir: t.TempDir()})
	const n = 1_000_000
	for _, tc := range []struct{ name, open, close string }{
		{"parentheses", "(", ")"},
		{"brackets", "[", "]"},
		{"braces", `{"a": `, "}"},
		{"mixed", "([", "])"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, src := range []string{
				"${ " + strings.Repeat(tc.open, n) + "1" + strings.Repeat(tc.close, n) + " }",
				"text ${ " + strings.Repeat(tc.open, n) + "1" + strings.Repeat(tc.close, n) + " } more",
			} {
				_, _, diags := c.Compile(exprValue(src))
				if !diags.HasErrors() {
					t.Fatalf("%s nested %d deep compiled", tc.name, n)
				}
				msg := diags.Err().Error()
				if !strings.Contains(msg, "fuzz.yaml:3:7") || !strings.Contains(msg, "nest more than") {
					t.Errorf("diagnostic %q should name the position and the nesting limit", msg)
				}
				_, _, diags = c.CompileCondition(exprValue(src))
				if !diags.HasErrors() {
					t.Errorf("condition nested %d deep compiled", n)
				}
			}
		})
	}
	// Chains that recurse in expr-lang's parser without brackets are bounded too.
	for _, src := range []string{
		"${ " + strings.Repeat("- ", n) + "1 }",
		"${ " + strings.Repeat("not ", n) + "true }",
		"${ " + strings.Repeat("2 ** ", n) + "1 }",
		"${ " + strings.Repeat("true ? 1 : ", n) + "2 }",
	} {
		msg := compileErr(t, c, src)
		if !strings.Contains(msg, "fuzz.yaml:3:7") || !strings.Contains(msg, "tokens") {
			t.Errorf("%.20s…: diagnostic %q should name the position and the token limit", src, msg)
		}
		if len(msg) > 1000 {
			t.Errorf("%.20s…: diagnostic is %d bytes long; it should quote a clipped expression", src, len(msg))
		}
	}
	// Nesting within the limit, and brackets inside string literals, still compile.
	for _, src := range []string{
		"${ " + strings.Repeat("(", 30) + "1" + strings.Repeat(")", 30) + " }",
		`${ "` + strings.Repeat("(", 500) + `" }`,
		`${ '` + strings.Repeat("[", 500) + `' }`,
	} {
		if _, _, diags := c.Compile(exprValue(src)); diags.HasErrors() {
			t.Errorf("%.40s…: %v", src, diags.Err())
		}
	}
}
