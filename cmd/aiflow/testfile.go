package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/internal/exprguard"
	"github.com/aiflow/aiflow/spec"
)

// testFile is a parsed <flow>.test.yaml:
//
//	tests:
//	  - name: answers about bees
//	    vars: { question: How do bees find flowers? }
//	    assert:
//	      - outputs.chunks_indexed > 100
//	      - steps.answer.status == "succeeded"
//	  - name: rejects a bad top_k
//	    vars: { top_k: many }
//	    expect_error: top_k
type testFile struct {
	path  string
	tests []*testCase
	eval  *evalSpec // the eval: section, for aiflow eval
}

// testCase is one entry of tests: vars to run the flow with and what must hold after.
type testCase struct {
	name        string
	pos         spec.Pos
	vars        map[string]any
	expectError string // the run must fail with an error containing this
	asserts     []*assertion
	mocks       []*mock
}

// assertion is one compiled expr-lang expression over the run's outputs, steps, run and vars.
type assertion struct {
	src  string
	pos  spec.Pos
	prog *vm.Program
	// probes are the sub-expressions whose values a failure report shows.
	probes []probe
}

type probe struct {
	src  string
	prog *vm.Program
}

var (
	testFileKeys = []string{"tests", "eval"}
	testCaseKeys = []string{"name", "vars", "assert", "expect_error", "mocks"}
)

// testDir is the directory beside a flow that may hold its test file instead, as
// Terraform keeps *.tftest.hcl files in tests/.
const testDir = "tests"

// testFileFor finds the test file of the flow at path: <name>.test.yaml beside it, else
// tests/<name>.test.yaml. Given a test file, it finds the flow beside it, or in the parent
// directory when the test file sits in tests/. When nothing exists it names the first
// candidate, so the error says where tests are expected.
func testFileFor(path string) (flow, tests string) {
	for _, ext := range []string{".yaml", ".yml"} {
		base, ok := strings.CutSuffix(path, ".test"+ext)
		if !ok {
			continue
		}
		flow = base + ".yaml"
		if dir := filepath.Dir(path); filepath.Base(dir) == testDir && !exists(flow) {
			flow = filepath.Join(filepath.Dir(dir), filepath.Base(base)+".yaml")
		}
		return flow, path
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) + ".test.yaml"
	beside := filepath.Join(filepath.Dir(path), name)
	if inDir := filepath.Join(filepath.Dir(path), testDir, name); !exists(beside) && exists(inDir) {
		return path, inDir
	}
	return path, beside
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// parseTestFile reads and checks a test file, compiling every assertion.
func parseTestFile(path string) (*testFile, spec.Diagnostics) {
	var diags spec.Diagnostics
	src, err := os.ReadFile(path)
	if err != nil {
		diags.Errorf(spec.Pos{File: path}, "", "reading test file: %v", unwrapPathErr(err))
		if errors.Is(err, fs.ErrNotExist) {
			diags[0].Detail = "a flow's test cases live beside it in <name>.test.yaml (or in tests/<name>.test.yaml), as tests: [{name, vars, assert}]"
		}
		return nil, diags
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		diags.Errorf(spec.Pos{File: path}, "", "%v", err)
		return nil, diags
	}
	p := &testParser{file: path}
	tf := p.root(&doc)
	return tf, p.diags.Sort()
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

type testParser struct {
	file  string
	diags spec.Diagnostics
}

func (p *testParser) pos(n *yaml.Node) spec.Pos {
	return spec.Pos{File: p.file, Line: n.Line, Col: n.Column}
}

func (p *testParser) errf(n *yaml.Node, path, format string, args ...any) {
	p.diags.Errorf(p.pos(n), path, format, args...)
}

func (p *testParser) root(doc *yaml.Node) *testFile {
	tf := &testFile{path: p.file}
	if len(doc.Content) == 0 {
		p.diags.Errorf(spec.Pos{File: p.file, Line: 1}, "", "empty test file: expected a mapping with tests:")
		return tf
	}
	root := doc.Content[0]
	var list *yaml.Node
	p.mapping(root, "", testFileKeys, func(key string, k, v *yaml.Node) {
		if key == "eval" {
			tf.eval = p.evalSection(v, "eval")
			return
		}
		list = v
	})
	switch {
	case root.Kind != yaml.MappingNode:
	case list == nil && tf.eval != nil:
	case list == nil:
		p.errf(root, "tests", "missing tests: a list of {name, vars, assert}")
	case list.Kind != yaml.SequenceNode || len(list.Content) == 0:
		p.errf(list, "tests", "expected a non-empty list of tests")
	default:
		for i, n := range list.Content {
			tf.tests = append(tf.tests, p.testCase(n, fmt.Sprintf("tests[%d]", i)))
		}
		p.uniqueNames(tf.tests)
	}
	return tf
}

// mapping walks the keys of a mapping node, reporting unknown keys with a suggestion.
func (p *testParser) mapping(n *yaml.Node, path string, known []string, each func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errf(n, path, "expected a mapping with keys %s", spec.QuoteList(known))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(known, k.Value) {
			p.errf(k, keyPath(path, k.Value), "unknown key %q%s; allowed: %s", k.Value, spec.DidYouMean(k.Value, known), spec.QuoteList(known))
			continue
		}
		each(k.Value, k, v)
	}
}

func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// testCase decodes one test; problems go to p.diags, which the caller checks before
// running anything.
func (p *testParser) testCase(n *yaml.Node, path string) *testCase {
	tc := &testCase{pos: p.pos(n), vars: map[string]any{}}
	named := false
	p.mapping(n, path, testCaseKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			tc.name, named = p.str(v, path+".name"), true
		case "vars":
			p.vars(v, path+".vars", tc)
		case "assert":
			p.asserts(v, path+".assert", tc)
		case "expect_error":
			tc.expectError = p.str(v, path+".expect_error")
		case "mocks":
			p.mocks(v, path+".mocks", tc)
		}
	})
	if n.Kind == yaml.MappingNode && !named {
		p.errf(n, path+".name", "missing name: every test needs one")
	}
	return tc
}

func (p *testParser) str(n *yaml.Node, path string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Value == "" {
		p.errf(n, path, "expected a non-empty string")
		return ""
	}
	return n.Value
}

func (p *testParser) vars(n *yaml.Node, path string, tc *testCase) {
	if n.Kind != yaml.MappingNode {
		p.errf(n, path, "expected a mapping of var name → value")
		return
	}
	var raw map[string]any
	if err := n.Decode(&raw); err != nil {
		p.errf(n, path, "%v", err)
		return
	}
	for k, v := range raw {
		tc.vars[k] = jsonable(v)
	}
}

func (p *testParser) asserts(n *yaml.Node, path string, tc *testCase) {
	items := n.Content
	if n.Kind == yaml.ScalarNode {
		items = []*yaml.Node{n}
	} else if n.Kind != yaml.SequenceNode {
		p.errf(n, path, "expected a list of expressions")
		return
	}
	for i, item := range items {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		src := p.str(item, ipath)
		if src == "" {
			continue
		}
		a, err := compileAssertion(src, p.pos(item))
		if err != nil {
			p.errf(item, ipath, "invalid assertion: %s", exprguard.Message(err, src))
			p.diags[len(p.diags)-1].Detail = assertionHelp(item)
			continue
		}
		tc.asserts = append(tc.asserts, a)
	}
}

// assertionHelp explains what an assertion may contain, and spots the YAML trap of an
// unquoted " #" (the rest of the line became a comment).
func assertionHelp(n *yaml.Node) string {
	const help = "an assertion is an expr-lang expression over outputs, steps.<id>.status, run.status and vars"
	if n.Style == 0 && n.LineComment != "" {
		return fmt.Sprintf("YAML read %q as a comment; quote the assertion to use # in it. %s", n.LineComment, help)
	}
	return help
}

func (p *testParser) uniqueNames(tests []*testCase) {
	seen := map[string]bool{}
	for _, tc := range tests {
		if seen[tc.name] {
			p.diags.Errorf(tc.pos, "tests", "duplicate test name %q", tc.name)
		}
		seen[tc.name] = true
	}
}

// assertionEnv is the type-checking environment of assertions: untyped maps.
func assertionEnv() map[string]any {
	return map[string]any{"outputs": map[string]any{}, "steps": map[string]any{}, "run": map[string]any{}, "vars": map[string]any{}}
}

func compileAssertion(src string, pos spec.Pos) (*assertion, error) {
	prog, err := expr.Compile(src, expr.Env(assertionEnv()), expr.AsBool())
	if err != nil {
		return nil, err
	}
	a := &assertion{src: src, pos: pos, prog: prog}
	tree, err := parser.Parse(src)
	if err != nil {
		return a, nil
	}
	for _, n := range probeNodes(tree.Node) {
		s := n.String()
		if pp, err := expr.Compile(s, expr.Env(assertionEnv())); err == nil && s != src {
			a.probes = append(a.probes, probe{src: s, prog: pp})
		}
	}
	return a, nil
}

var comparisons = []string{"==", "!=", "<", ">", "<=", ">=", "in", "not in", "contains", "startsWith", "endsWith", "matches"}

// probeNodes picks the sub-expressions worth showing when an assertion fails: the
// operands of comparisons (through and, or, not), or the first argument of a call.
func probeNodes(n ast.Node) []ast.Node {
	switch x := n.(type) {
	case *ast.BinaryNode:
		switch {
		case slices.Contains([]string{"&&", "||", "and", "or"}, x.Operator):
			return append(probeNodes(x.Left), probeNodes(x.Right)...)
		case slices.Contains(comparisons, x.Operator):
			return append(nonLiteral(x.Left), nonLiteral(x.Right)...)
		}
	case *ast.UnaryNode:
		if x.Operator == "!" || x.Operator == "not" {
			return probeNodes(x.Node)
		}
	case *ast.BuiltinNode:
		if len(x.Arguments) > 0 {
			return nonLiteral(x.Arguments[0])
		}
	case *ast.CallNode:
		if len(x.Arguments) > 0 {
			return nonLiteral(x.Arguments[0])
		}
	}
	return nonLiteral(n)
}

func nonLiteral(n ast.Node) []ast.Node {
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.StringNode, *ast.BoolNode, *ast.NilNode, *ast.ConstantNode:
		return nil
	}
	return []ast.Node{n}
}
