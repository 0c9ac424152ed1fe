package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/spec"
)

// readTree builds <tmp>/flow (the flow's folder: inside.txt, sub/x.txt, a link to a file
// outside and a link to the outside folder) and <tmp>/outside (secret.txt, sub.yaml).
func readTree(t *testing.T) (flowDir, outside string) {
	t.Helper()
	root := t.TempDir()
	flowDir, outside = filepath.Join(root, "flow"), filepath.Join(root, "outside")
	for name, body := range map[string]string{
		filepath.Join(flowDir, "inside.txt"):   "inside",
		filepath.Join(flowDir, "sub", "x.txt"): "x",
		filepath.Join(outside, "secret.txt"):   "secret",
		filepath.Join(outside, "sub.yaml"):     "aiflow: 1\nsteps:\n  t:\n    uses: transform\n    with: {expr: hi}\noutputs:\n  v: ${ steps.t.output.value }\n",
		filepath.Join(flowDir, "child.yaml"):   "aiflow: 1\nsteps:\n  t:\n    uses: transform\n    with: {expr: '${ file(\"../outside/secret.txt\") }'}\noutputs:\n  v: ${ steps.t.output.value }\n",
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(flowDir, "link.txt")); err != nil {
		t.Skipf("symlink: %v", err)
	}
	if err := os.Symlink(outside, filepath.Join(flowDir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	return flowDir, outside
}

// TestFileAndGlobConfined: file() and glob() read only inside the flow's folder (after
// resolving symlinks) unless more directories are allowed; the error names the path and
// says how to allow it. glob() skips matches that link outside.
func TestFileAndGlobConfined(t *testing.T) {
	flowDir, outside := readTree(t)
	eval := func(roots *spec.ReadRoots, src string) (any, error) {
		c := engine.NewCompiler(&engine.Funcs{Dir: flowDir, Roots: roots})
		tmpl, _, diags := c.Compile(exprValue(src))
		if diags.HasErrors() {
			t.Fatalf("%s: %v", src, diags.Err())
		}
		return tmpl.Eval(nil)
	}
	secret := filepath.Join(outside, "secret.txt")
	for _, src := range []string{
		`${ file("../outside/secret.txt") }`,
		`${ file("sub/../../outside/secret.txt") }`,
		`${ file("` + secret + `") }`,
		`${ file("link.txt") }`,
		`${ file("linkdir/secret.txt") }`,
		`${ glob("../outside/*") }`,
		`${ glob("` + outside + `/*") }`,
		`${ glob("linkdir/*") }`,
		`${ glob("*/../../outside/*.txt") }`,
	} {
		_, err := eval(nil, src)
		if err == nil || !strings.Contains(err.Error(), "outside the directories this flow may read") || !strings.Contains(err.Error(), "--allow-read") {
			t.Errorf("%s: got %v, want a read-denied error mentioning --allow-read", src, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret\"") {
			t.Errorf("%s: error leaks the content: %v", src, err)
		}
	}
	for src, want := range map[string]any{
		`${ file("inside.txt") }`:                                   "inside",
		`${ file("sub/x.txt") }`:                                    "x",
		`${ file("` + filepath.Join(flowDir, "inside.txt") + `") }`: "inside",
		`${ glob("sub/*.txt") }`:                                    []any{filepath.Join("sub", "x.txt")},
		`${ glob("nowhere/*.txt") }`:                                []any{},
		// Matches that are links pointing outside are skipped, not returned.
		`${ glob("*.txt") }`: []any{"inside.txt"},
		`${ glob("*") }`:     []any{"child.yaml", "inside.txt"},
	} {
		got, err := eval(nil, src)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, %v; want %#v", src, got, err, want)
		}
	}
	allowed, err := spec.NewReadRoots(flowDir, outside)
	if err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]any{
		`${ file("../outside/secret.txt") }`: "secret",
		`${ file("link.txt") }`:              "secret",
		`${ len(glob("*.txt")) }`:            2,
	} {
		got, err := eval(allowed, src)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("with --allow-read: %s = %#v, %v; want %#v", src, got, err, want)
		}
	}
}

// TestPromptAndSubFlowConfined: prompt files and sub-flows (static paths at validate,
// dynamic ones at run time, and a sub-flow's own file()) stay inside the top-level
// flow's folder.
func TestPromptAndSubFlowConfined(t *testing.T) {
	flowDir, _ := readTree(t)
	write := func(src string) string {
		p := filepath.Join(flowDir, "flow.yaml")
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, diags := spec.ParseFile(write("aiflow: 1\nsteps:\n  g:\n    uses: generate\n    prompt: {file: ../outside/secret.txt}\n"))
	if err := diags.Err(); err == nil || !strings.Contains(err.Error(), "flow.yaml:5:20") || !strings.Contains(err.Error(), "outside the directories this flow may read") {
		t.Errorf("prompt file outside: got %v", err)
	}
	_, diags = spec.ParseFile(write("aiflow: 1\nsteps:\n  g:\n    uses: generate\n    prompt: {file: link.txt}\n"))
	if err := diags.Err(); err == nil || !strings.Contains(err.Error(), "outside the directories") {
		t.Errorf("prompt file through a symlink: got %v", err)
	}

	f, diags := spec.ParseFile(write("aiflow: 1\nsteps:\n  s:\n    uses: flow\n    with: {path: ../outside/sub.yaml}\n"))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	if _, diags := engine.Compile(f, engine.Options{}); !strings.Contains(diags.Err().Error(), "outside the directories") {
		t.Errorf("static sub-flow outside: got %v", diags.Err())
	}

	for _, path := range []string{"${ vars.p }", "child.yaml"} {
		f, diags = spec.ParseFile(write("aiflow: 1\nvars:\n  p: {type: string, default: ../outside/sub.yaml}\nsteps:\n  s:\n    uses: flow\n    with: {path: '" + path + "'}\n"))
		if diags.HasErrors() {
			t.Fatal(diags.Err())
		}
		fl, diags := engine.Compile(f, engine.Options{})
		if diags.HasErrors() {
			t.Fatal(diags.Err())
		}
		st, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		_, err = fl.Run(context.Background(), engine.RunOptions{Store: st})
		st.Close()
		if err == nil || !strings.Contains(err.Error(), "outside the directories this flow may read") || strings.Contains(err.Error(), "secret\n") {
			t.Errorf("sub-flow %s: got %v, want a read-denied error", path, err)
		}
	}
}
