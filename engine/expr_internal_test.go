package engine

import (
	"testing"

	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/spec"
)

// TestPooledMachinesKeepNothing: expressions run on pooled machines (issue 18); a
// machine back in the pool holds none of the values its evaluation touched, so a
// large step output read by an expression is not kept alive by the pool. And a
// machine gives the same results whatever it evaluated before, errors included.
func TestPooledMachinesKeepNothing(t *testing.T) {
	c := NewCompiler(&Funcs{Dir: t.TempDir()})
	compile := func(src string) *Template {
		t.Helper()
		tp, _, diags := c.Compile(&spec.Value{Node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: src, Line: 1, Column: 1},
			Path: "steps.x.with.v", Pos: spec.Pos{File: "f.yaml", Line: 1, Col: 1}})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		return tp
	}
	big := make([]any, 1000)
	for i := range big {
		big[i] = float64(i)
	}
	scope := map[string]any{"vars": map[string]any{"big": big, "n": 3.0}}
	sum := compile("${ map(vars.big, # * 2)[999] + vars.n }")
	bad := compile("${ vars.big[5000] }")
	for i := range 3 {
		v, err := sum.Eval(scope)
		if err != nil || v != 2001.0 {
			t.Fatalf("run %d: %v, %v; want 2001", i, v, err)
		}
		if _, err := bad.Eval(scope); err == nil {
			t.Fatalf("run %d: an index out of range evaluated", i)
		}
	}
	m := vms.Get().(*vm.VM) // the machine just put back, or a fresh one
	for _, s := range [][]any{m.Stack[:cap(m.Stack)], m.Variables} {
		for i, v := range s {
			if v != nil {
				t.Fatalf("pooled machine still holds %T at %d", v, i)
			}
		}
	}
	for i, sc := range m.Scopes[:cap(m.Scopes)] {
		if sc != nil {
			t.Fatalf("pooled machine still holds scope %d", i)
		}
	}
}
