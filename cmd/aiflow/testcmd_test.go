package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/expr-lang/expr/parser"
	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/spec"
)

// TestExampleFlowTests runs the test cases shipped with the example flows.
func TestExampleFlowTests(t *testing.T) {
	for _, name := range []string{"quickstart", "quickstart-search", "fanout", "classify", "summarise-and-translate"} {
		t.Run(name, func(t *testing.T) {
			if name == "summarise-and-translate" {
				if _, err := exec.LookPath("apertium"); err != nil {
					if os.Getenv("AIFLOW_REQUIRE_APERTIUM") == "1" {
						t.Fatal("apertium is missing though `make test` installs it (.ci/deps)")
					}
					t.Skip("needs the apertium command (apt-get install apertium apertium-eng-spa)")
				}
			}
			flow := filepath.Join("..", "..", "examples", "flows", name+".yaml")
			var out, errs bytes.Buffer
			code := run([]string{"test", flow, "--state-dir", t.TempDir()}, &out, &errs)
			if code != exitOK || !strings.Contains(out.String(), "ok   ") {
				t.Errorf("aiflow test %s: exit %d\n%s%s", flow, code, out.String(), errs.String())
			}
		})
	}
}

func TestTestFileFor(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.yaml", "a.test.yaml", "b.yaml", "tests/b.test.yaml", "c.yaml"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	j := func(p string) string { return filepath.Join(dir, p) }
	tests := []struct {
		name, arg, flow, tests string
	}{
		{"beside the flow", j("a.yaml"), j("a.yaml"), j("a.test.yaml")},
		{"in tests/", j("b.yaml"), j("b.yaml"), j("tests/b.test.yaml")},
		{"none: names the beside path", j("c.yaml"), j("c.yaml"), j("c.test.yaml")},
		{"a test file beside its flow", j("a.test.yaml"), j("a.yaml"), j("a.test.yaml")},
		{"a test file in tests/", j("tests/b.test.yaml"), j("b.yaml"), j("tests/b.test.yaml")},
		{"a .yml test file", j("d.test.yml"), j("d.yaml"), j("d.test.yml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flow, tests := testFileFor(tt.arg)
			if diff := cmp.Diff([]string{tt.flow, tt.tests}, []string{flow, tests}); diff != "" {
				t.Errorf("testFileFor(%s) (-want +got):\n%s", tt.arg, diff)
			}
		})
	}
}

func TestProbeNodes(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{"outputs.n > 100", []string{"outputs.n"}},
		{`outputs.a == outputs.b`, []string{"outputs.a", "outputs.b"}},
		{`outputs.n > 1 && len(outputs.list) == 3`, []string{"outputs.n", "len(outputs.list)"}},
		{`not (steps.a.status == "failed")`, []string{"steps.a.status"}},
		{`outputs.s contains "x" || outputs.t startsWith "y"`, []string{"outputs.s", "outputs.t"}},
		{`all(outputs.list, # > 1)`, []string{"outputs.list"}},
		{`outputs.flag`, []string{"outputs.flag"}},
		{`true`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			tree, err := parser.Parse(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range probeNodes(tree.Node) {
				got = append(got, n.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("probes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckAssertion(t *testing.T) {
	res := &engine.RunResult{RunID: "r-1", Status: "succeeded", Outputs: map[string]any{"n": 120, "sources": []any{"a.md", "b.md"}},
		Steps: []engine.StepResult{{ID: "answer", Status: "cached", Model: "local"}}}
	scope := assertionScope(res, map[string]any{"top_k": 2}, "")
	tests := []struct {
		name, src string
		want      *testFailure // nil: passes
	}{
		{"true", `outputs.n > 100 && steps.answer.status == "cached"`, nil},
		{"vars and run", `vars.top_k == len(outputs.sources) && run.status == "succeeded"`, nil},
		{"false shows operands", `outputs.n > 500`, &testFailure{Assertion: `outputs.n > 500`, Message: "assertion failed",
			Values: []probeValue{{"outputs.n", 120}}}},
		{"false call shows its argument", `all(outputs.sources, # endsWith ".txt")`, &testFailure{Assertion: `all(outputs.sources, # endsWith ".txt")`,
			Message: "assertion failed", Values: []probeValue{{"outputs.sources", []any{"a.md", "b.md"}}}}},
		{"runtime error", `outputs.missing.x == 1`, &testFailure{Assertion: `outputs.missing.x == 1`,
			Message: "assertion error: cannot fetch x from <nil>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := compileAssertion(tt.src, testPos)
			if err != nil {
				t.Fatal(err)
			}
			f, failed := check(a, scope)
			if tt.want == nil {
				if failed {
					t.Errorf("failed: %+v", f)
				}
				return
			}
			tt.want.Pos = testPos
			if diff := cmp.Diff(*tt.want, f); !failed || diff != "" {
				t.Errorf("failed %v; failure (-want +got):\n%s", failed, diff)
			}
		})
	}
}

var testPos = spec.Pos{File: "f.test.yaml", Line: 3, Col: 9}
