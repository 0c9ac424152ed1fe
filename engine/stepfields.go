package engine

import (
	"fmt"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/aiflow/aiflow/spec"
)

// stepFields are what an expression may read of a step: steps.<id>.output and
// steps.<id>.status (the walker's scope holds nothing else).
var stepFields = []string{"output", "status"}

// checkStepFields reports steps.<id>.<field> references whose field is neither output nor
// status, such as steps.c.ouput.value, which would otherwise pass validate and fail only
// after every step before it has run (and paid).
func (c *checker) checkStepFields() {
	fl := c.flow
	var all []*Template
	for _, s := range fl.Spec.Steps {
		n, ok := fl.Nodes[s.ID]
		if !ok {
			continue
		}
		for _, in := range s.With {
			all = append(all, n.Inputs[in.Key])
		}
		all = append(all, n.System, n.User, n.Msgs, n.Params, n.Schema, n.When, n.ForEach)
	}
	for _, o := range fl.Outputs {
		all = append(all, o.T)
	}
	seen := map[string]bool{}
	for _, t := range all {
		c.templateStepFields(t, seen)
	}
}

func (c *checker) templateStepFields(t *Template, seen map[string]bool) {
	if t == nil {
		return
	}
	switch t.kind {
	case tExpr:
		c.exprStepFields(t.src, t.Pos, t.Path, seen)
	case tInterp:
		for _, s := range t.segs {
			if s.prog != nil {
				c.exprStepFields(s.src, t.Pos, t.Path, seen)
			}
		}
	case tMap, tList:
		for _, k := range t.kids {
			c.templateStepFields(k, seen)
		}
	}
}

func (c *checker) exprStepFields(src string, pos spec.Pos, path string, seen map[string]bool) {
	tree, err := parser.Parse(src)
	if err != nil {
		return
	}
	v := &stepFieldVisitor{}
	ast.Walk(&tree.Node, v)
	for _, ref := range v.found {
		id, field := ref[0], ref[1]
		key := fmt.Sprint(pos, path, id, field)
		if seen[key] || c.flow.Spec.StepByID(id) == nil || containsString(stepFields, field) {
			continue
		}
		seen[key] = true
		c.errf(pos, path, "a step is read as steps."+id+".output (its outputs, e.g. steps."+id+".output.text) or steps."+id+".status",
			"step %q has no field %q%s", id, field, spec.DidYouMean(field, stepFields))
	}
}

// stepFieldVisitor collects [id, field] of every steps.<id>.<field> in an expression.
type stepFieldVisitor struct{ found [][2]string }

func (v *stepFieldVisitor) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	chain := memberChain(m)
	if len(chain) == 3 && chain[0] == "steps" {
		v.found = append(v.found, [2]string{chain[1], chain[2]})
	}
}
