package engine

import (
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/aiflow/aiflow/spec"
)

// routeCompiler compiles route conditions against the scope the walker gives them
// (walker.route): input is the call's text, a string (its prompt, or its text input),
// so input.kind is a validate error rather than a run-time "invalid operation", and
// string operators such as `input contains "code"` type-check. vars, run and budget stay
// untyped maps; steps, each and resources are kept so that their misuse gets the
// checker's own message.
func (c *checker) routeCompiler() *Compiler {
	env := exprEnv()
	env["input"] = ""
	o := append(c.funcs.options(), expr.Env(env))
	return &Compiler{opts: o, bool: append(append([]expr.Option{}, o...), expr.AsBool())}
}

// routeInputDetail explains what input is when a route condition that uses it fails to
// compile.
const routeInputDetail = "in a route condition, input is the text of the call (its prompt, or its text input), a string: " +
	`test it with string operators (input contains "code", input matches "^SELECT", tokens(input) > 6000); ` +
	"values such as vars.kind are read from vars"

// usesInput reports whether an expression mentions the identifier input.
func usesInput(src string) bool {
	tree, err := parser.Parse(src)
	if err != nil {
		return strings.Contains(src, "input")
	}
	v := &identVisitor{name: "input"}
	ast.Walk(&tree.Node, v)
	return v.found
}

type identVisitor struct {
	name  string
	found bool
}

func (v *identVisitor) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok && id.Value == v.name {
		v.found = true
	}
}

// explainRouteInput adds routeInputDetail to the errors of a condition that reads input.
func explainRouteInput(d spec.Diagnostics, v *spec.Value) spec.Diagnostics {
	src := v.Node.Value
	if inner, ok := spec.WholeExpr(src); ok {
		src = inner
	}
	if !d.HasErrors() || !usesInput(src) {
		return d
	}
	for i := range d {
		if d[i].Severity == spec.Error {
			d[i].Detail += "; " + routeInputDetail
		}
	}
	return d
}
