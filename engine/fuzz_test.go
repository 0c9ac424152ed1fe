package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/spec"
)

// exprSeeds are templates that exercise every scope, function and template shape.
var exprSeeds = []string{
	"${ vars.n + 1 }",
	"${ vars.s } and ${ vars.n }",
	"$${ literal } ${ vars.s }",
	"${ steps.pieces.output.texts[0] }",
	`${ join(steps.pieces.output.texts, "\n") }`,
	"${ len(vars.l) > 2 ? \"many\" : \"few\" }",
	"${ map(vars.l, # * 2) }",
	"${ filter(steps.pieces.output.items, .tokens > 1) }",
	"${ sum(map(steps.pieces.output.items, .tokens)) }",
	`${ {"a": vars.n, "b": [1, 2, {"c": "}"}]} }`,
	"${ each.value + each.index }",
	`${ env("AIFLOW_TEST_TOKEN") }`,
	`${ env("AIFLOW_TEST_UNSET") }`,
	"${ tokens(vars.s) }",
	"${ json(vars.m) }",
	"${ sha256(vars.s) }",
	"${ upper(vars.s) + lower(\"X\") }",
	"${ vars.m.k ?? \"none\" }",
	"${ vars.missing.deep }",
	"${ 1 / 0 }",
	"${ vars.l[10] }",
	"${ int(\"x\") }",
	"${ resources.kb.name }",
	"${ run.id }",
	"${",
	"${ }",
	"${ \"unterminated }",
	"${ ((( }",
}

// exprScope is the small world fuzzed templates are evaluated in.
func exprScope() map[string]any {
	return map[string]any{
		"vars": map[string]any{"n": 2, "s": "text", "l": []any{1, 2, 3}, "m": map[string]any{"k": "v"}},
		"steps": map[string]any{"pieces": map[string]any{"output": map[string]any{
			"texts": []any{"a b", "c"},
			"items": []any{map[string]any{"text": "a b", "tokens": 2}, map[string]any{"text": "c", "tokens": 1}},
			"count": 2,
		}}},
		"each":      map[string]any{"value": 1, "index": 0},
		"resources": map[string]any{"kb": map[string]any{"name": "kb", "kind": "vector-index"}},
		"run":       map[string]any{"id": "r1", "started_at": "2025-01-01T00:00:00Z"},
		"input":     map[string]any{},
		"budget":    map[string]any{"usd": 1.0},
	}
}

// FuzzExpr compiles random templates through the public compiler, as a value and as a
// condition, and evaluates what compiles; nothing may panic, and a template that
// compiled must either evaluate or return an error.
func FuzzExpr(f *testing.F) {
	for _, s := range exprSeeds {
		f.Add(s)
	}
	c := engine.NewCompiler(&engine.Funcs{Dir: f.TempDir(), LookupEnv: lookupTestEnv})
	f.Fuzz(func(t *testing.T, src string) {
		if readsDevice(src) {
			t.Skip("reads a device or kernel file, which may never end")
		}
		v := &spec.Value{Node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: src, Line: 3, Column: 7}, Path: "fuzz", Pos: spec.Pos{File: "fuzz.yaml", Line: 3, Col: 7}}
		tmpl, refs, diags := c.Compile(v)
		if tmpl == nil || refs == nil {
			t.Fatalf("Compile(%q) returned a nil template or refs", src)
		}
		for _, d := range diags {
			if d.Pos.Line != 3 || d.Pos.File != "fuzz.yaml" {
				t.Errorf("diagnostic not at the value: %v", d)
			}
		}
		if !diags.HasErrors() {
			tmpl.Eval(exprScope())
		}
		cond, _, diags := c.CompileCondition(v)
		if !diags.HasErrors() && cond != nil {
			got, err := cond.Eval(exprScope())
			if _, isBool := got.(bool); err == nil && !isBool {
				t.Errorf("condition %q gave %#v, not a boolean", src, got)
			}
		}
	})
}

// FuzzCompile parses and compiles random flows with every registered kind and provider;
// nothing may panic and every diagnostic must name the file.
func FuzzCompile(f *testing.F) {
	for _, pattern := range []string{"../examples/flows/*.yaml", "../spec/testdata/valid/*.yaml", "testdata/invalid/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if readsDevice(string(src)) {
			t.Skip("reads a device or kernel file, which may never end")
		}
		fl, diags := spec.Parse("fuzz.yaml", src)
		if fl == nil || diags.HasErrors() {
			return
		}
		compiled, more := engine.Compile(fl, engine.Options{LookupEnv: lookupTestEnv})
		if compiled == nil && !more.HasErrors() {
			t.Fatalf("nil flow without an error: %v", more)
		}
		for _, d := range more {
			if d.Pos.File != "fuzz.yaml" {
				t.Errorf("diagnostic without the file name: %v", d)
			}
		}
	})
}

// readsDevice reports whether src may make file() or a prompt file read from /dev, /proc
// or /sys, where a read may block or never end (spec and engine read whole files).
func readsDevice(src string) bool {
	return strings.Contains(src, "file") && (strings.Contains(src, "dev") || strings.Contains(src, "proc") || strings.Contains(src, "sys"))
}
