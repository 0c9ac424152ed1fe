package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/internal/exprguard"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// A tool template is a YAML value under a step tool's with: (or its result:) in which
// strings may hold ${ … } expressions, evaluated each time the model calls the tool.
// A string that is exactly one ${ … } keeps the expression's type; other strings are
// interpolated. Expressions are expr-lang (the engine's language without its flow
// functions) and see only:
//
//	args       the call's arguments, as the model sent them (after schema validation)
//	resources  resources.<name> is a reference to the flow's resource <name>, e.g. an index
//	output     in result: only, the step's output
//
// The engine does not compile tools:, so vars and steps are not visible here.
//
// The model controls args, so each evaluation gets the engine's bounds (exprguard): a
// budget of loop iterations, arithmetic and text built, the call's context, and checked
// integer arithmetic.

// tmpl is a compiled template value.
type tmpl struct {
	lit    any         // the value when nothing in it is an expression
	whole  *vm.Program // a string that is exactly one expression
	parts  []tpart     // an interpolated string
	fields map[string]*tmpl
	items  []*tmpl
	kind   tkind
}

type tkind int

const (
	tLiteral tkind = iota
	tWhole
	tString
	tMap
	tList
)

type tpart struct {
	lit  string
	prog *vm.Program
}

// compiler compiles the templates of one tool, collecting the resource names they use.
type compiler struct {
	scope     []string
	resources map[string]bool
	params    map[string]bool // the tool's parameters: args.X must name one
	diags     *spec.Diagnostics
}

func (c *compiler) compile(n node) *tmpl {
	switch n.n.Kind {
	case yaml.MappingNode:
		t := &tmpl{kind: tMap, fields: map[string]*tmpl{}}
		for i := 0; i+1 < len(n.n.Content); i += 2 {
			k := n.n.Content[i].Value
			t.fields[k] = c.compile(node{n: n.n.Content[i+1], file: n.file, path: n.path + "." + k})
		}
		return t.fold()
	case yaml.SequenceNode:
		t := &tmpl{kind: tList}
		for i, it := range n.n.Content {
			t.items = append(t.items, c.compile(n.item(i, it)))
		}
		return t.fold()
	case yaml.AliasNode:
		return c.compile(node{n: n.n.Alias, file: n.file, path: n.path})
	}
	if n.n.Tag != "!!str" || !strings.Contains(n.n.Value, "${") {
		return &tmpl{lit: spec.NodeToAny(n.n)}
	}
	return c.compileString(n)
}

func (c *compiler) compileString(n node) *tmpl {
	if src, ok := spec.WholeExpr(n.n.Value); ok {
		return &tmpl{kind: tWhole, whole: c.program(n, src)}
	}
	segs, err := spec.SplitTemplate(n.n.Value)
	if err != nil {
		n.errorf(c.diags, "%v", err)
		return &tmpl{lit: n.n.Value}
	}
	t := &tmpl{kind: tString}
	for _, s := range segs {
		if s.IsExpr {
			t.parts = append(t.parts, tpart{prog: c.program(n, s.Expr)})
		} else {
			t.parts = append(t.parts, tpart{lit: s.Literal})
		}
	}
	return t
}

// program compiles one expression against the template scope.
func (c *compiler) program(n node, src string) *vm.Program {
	env := map[string]any{}
	for _, s := range c.scope {
		env[s] = map[string]any{}
	}
	opts := append(exprguard.Options(), expr.Env(exprguard.Env(env)), expr.MaxNodes(500))
	err := exprguard.CheckNesting(src)
	var prog *vm.Program
	if err == nil {
		// Compile as written first: its type errors are the ones to report (the patched
		// tree calls untyped functions, which type-check anything).
		if _, err = expr.Compile(src, opts...); err == nil {
			prog, err = expr.Compile(src, append(opts, expr.Patch(exprguard.Patch{}))...)
		}
	}
	if err != nil {
		n.errorf(c.diags, "${%s}: %s", exprguard.Clip(src), exprguard.Message(err, src))
		(*c.diags)[len(*c.diags)-1].Detail = "tool templates may use " + strings.Join(c.scope, ", ")
		return nil
	}
	names := members{}
	root := prog.Node()
	ast.Walk(&root, names)
	for r := range names["resources"] {
		c.resources[r] = true
	}
	for _, a := range sortedKeys(names["args"]) {
		if !c.params[a] {
			n.errorf(c.diags, "${%s}: args.%s is not a parameter of the tool%s", src, a, spec.DidYouMean(a, sortedKeys(c.params)))
		}
	}
	return prog
}

// members records, for each scope name, the X of every scope.X in an expression.
type members map[string]map[string]bool

func (m members) Visit(n *ast.Node) {
	mem, ok := (*n).(*ast.MemberNode)
	if !ok {
		return
	}
	id, ok := mem.Node.(*ast.IdentifierNode)
	prop, isStr := mem.Property.(*ast.StringNode)
	if !ok || !isStr {
		return
	}
	if m[id.Value] == nil {
		m[id.Value] = map[string]bool{}
	}
	m[id.Value][prop.Value] = true
}

// fold turns a collection without expressions into a literal.
func (t *tmpl) fold() *tmpl {
	for _, f := range t.fields {
		if f.kind != tLiteral {
			return t
		}
	}
	for _, it := range t.items {
		if it.kind != tLiteral {
			return t
		}
	}
	if t.kind == tMap {
		m := make(map[string]any, len(t.fields))
		for k, f := range t.fields {
			m[k] = f.lit
		}
		return &tmpl{lit: m}
	}
	l := make([]any, len(t.items))
	for i, it := range t.items {
		l[i] = it.lit
	}
	return &tmpl{lit: l}
}

// eval evaluates the template in scope; each expression stops with ctx's error soon
// after ctx is done, and with exprguard.ErrBudget past the evaluation bounds.
func (t *tmpl) eval(ctx context.Context, scope map[string]any) (any, error) {
	switch t.kind {
	case tWhole:
		return runProgram(ctx, t.whole, scope)
	case tString:
		var b strings.Builder
		for _, p := range t.parts {
			if p.prog == nil {
				b.WriteString(p.lit)
				continue
			}
			v, err := runProgram(ctx, p.prog, scope)
			if err != nil {
				return nil, err
			}
			b.WriteString(text(v))
		}
		return b.String(), nil
	case tMap:
		out := make(map[string]any, len(t.fields))
		for k, f := range t.fields {
			v, err := f.eval(ctx, scope)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = v
		}
		return out, nil
	case tList:
		out := make([]any, len(t.items))
		for i, it := range t.items {
			v, err := it.eval(ctx, scope)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = v
		}
		return out, nil
	}
	return t.lit, nil
}

func runProgram(ctx context.Context, p *vm.Program, scope map[string]any) (any, error) {
	if p == nil {
		return nil, fmt.Errorf("expression did not compile")
	}
	v, err := exprguard.Run(ctx, p, scope)
	if err != nil {
		src := p.Source().String()
		return nil, &evalError{src: exprguard.Clip(src), msg: exprguard.Message(err, src), err: err}
	}
	return v, nil
}

// evalError is a template expression that failed: its message shows the expression and
// the cause's first line; errors.Is still sees the cause (exprguard.ErrBudget, the
// context's error).
type evalError struct {
	src, msg string
	err      error
}

func (e *evalError) Error() string { return fmt.Sprintf("${%s}: %s", e.src, e.msg) }
func (e *evalError) Unwrap() error { return e.err }

// resourceScope is what resources.X gives a tool template: a reference by name, which
// steps such as search open through their Env.
func resourceScope(names map[string]bool) map[string]any {
	out := make(map[string]any, len(names))
	for n := range names {
		out[n] = steps.ResourceRef{Name: n}
	}
	return out
}

// text renders a value inside an interpolated string.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int, int64, float64, bool:
		return fmt.Sprint(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
