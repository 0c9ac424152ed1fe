package engine_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/testfiles"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/subflow"
	"github.com/aiflow/aiflow/steps/transform"
)

// builds counts how often each step is built (kind.New), that is how often the flow file
// holding it is compiled.
type builds struct {
	mu sync.Mutex
	n  map[string]int
}

func (b *builds) registry(t *testing.T) *steps.Registry {
	t.Helper()
	reg := steps.NewRegistry()
	counted := transform.Kind
	counted.Name = "counted"
	counted.New = func(s *spec.Step) (steps.Step, spec.Diagnostics) {
		b.mu.Lock()
		b.n[s.ID]++
		b.mu.Unlock()
		return transform.Kind.New(s)
	}
	for _, k := range []steps.Kind{transform.Kind, subflow.Kind, counted} {
		if err := reg.Register(k); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

func (b *builds) counts() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]int{}
	for k, v := range b.n {
		out[k] = v
	}
	return out
}

// fanFlow is a flow with n flow steps that all call path, plus one counted step.
func fanFlow(counted string, n int, path string) string {
	var b strings.Builder
	b.WriteString("aiflow: 1\nsteps:\n  " + counted + ":\n    uses: counted\n    with: { expr: 1 }\n")
	for i := 0; i < n; i++ {
		b.WriteString("  call" + strconv.Itoa(i) + ":\n    uses: flow\n    with: { path: " + path + " }\n")
	}
	b.WriteString("outputs:\n  one: ${ steps." + counted + ".output.value }\n")
	return b.String()
}

func validateWith(t *testing.T, reg *steps.Registry, path string) (*engine.Flow, spec.Diagnostics) {
	t.Helper()
	f, diags := spec.ParseFile(path)
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	return engine.Compile(f, engine.Options{Steps: reg, Providers: providers.NewRegistry()})
}

// TestSubflowsCompiledOnce checks that a flow file called from many flow steps, at
// several levels, is compiled once: ten steps calling a flow whose ten steps call a
// third used to compile the third a hundred times, and each level multiplied it again.
// Running the flow reuses the compiled sub-flows too.
func TestSubflowsCompiledOnce(t *testing.T) {
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{
		"top.yaml":      fanFlow("top_step", 10, "./mid.yaml"),
		"mid.yaml":      fanFlow("mid_step", 10, "sub/leaf.yaml"),
		"sub/leaf.yaml": "aiflow: 1\nsteps:\n  leaf_step:\n    uses: counted\n    with: { expr: 1 }\n",
	})
	b := &builds{n: map[string]int{}}
	fl, diags := validateWith(t, b.registry(t), filepath.Join(dir, "top.yaml"))
	if diags.HasErrors() {
		t.Fatalf("validate: %v", diags)
	}
	want := map[string]int{"top_step": 1, "mid_step": 1, "leaf_step": 1}
	if d := cmp.Diff(want, b.counts()); d != "" {
		t.Errorf("compilations after validate (-want +got):\n%s", d)
	}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := fl.Run(context.Background(), engine.RunOptions{Store: st, StateDir: dir}); err != nil {
		t.Fatalf("run: %v", err)
	}
	if d := cmp.Diff(want, b.counts()); d != "" {
		t.Errorf("compilations after run (-want +got):\n%s", d)
	}
}

// TestSubflowCycles checks that flow files calling each other in a loop are a validate
// error at the flow step that enters the loop, listing every flow step of the loop with
// its position.
func TestSubflowCycles(t *testing.T) {
	call := func(path string) string {
		return "aiflow: 1\nsteps:\n  first:\n    uses: transform\n    with: { expr: 1 }\n  again:\n    uses: flow\n    with: { path: " + path + " }\n"
	}
	tests := []struct {
		name    string
		files   map[string]string
		summary string   // of the only error, at a.yaml:6:3
		detail  []string // in the detail, in this order
	}{
		{"a calls itself", map[string]string{"a.yaml": call("a.yaml")},
			"sub-flow cycle: a.yaml → a.yaml", []string{"a.yaml:6:3 (steps.again) runs a.yaml"}},
		{"a → b → a", map[string]string{"a.yaml": call("b.yaml"), "b.yaml": call("./a.yaml")},
			"sub-flow cycle: a.yaml → b.yaml → a.yaml", []string{"a.yaml:6:3 (steps.again) runs b.yaml", "b.yaml:6:3 (steps.again) runs ./a.yaml"}},
		{"a → b → c → b", map[string]string{"a.yaml": call("b.yaml"), "b.yaml": call("c.yaml"), "c.yaml": call("b.yaml")},
			"sub-flow cycle: b.yaml → c.yaml → b.yaml", []string{"b.yaml:6:3 (steps.again) runs c.yaml", "c.yaml:6:3 (steps.again) runs b.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			testfiles.Write(t, dir, tt.files)
			b := &builds{n: map[string]int{}}
			_, diags := validateWith(t, b.registry(t), filepath.Join(dir, "a.yaml"))
			errs := diags.Errors()
			if len(errs) != 1 {
				t.Fatalf("want one error, got %v", diags)
			}
			got := strings.ReplaceAll(errs[0].String(), dir+string(filepath.Separator), "")
			if want := "a.yaml:6:3: steps.again: " + tt.summary + ": "; !strings.HasPrefix(got, want) {
				t.Errorf("got  %s\nwant %s…", got, want)
			}
			rest := got
			for _, d := range tt.detail {
				i := strings.Index(rest, d)
				if i < 0 {
					t.Errorf("detail lacks %q (in order): %s", d, got)
					break
				}
				rest = rest[i+len(d):]
			}
		})
	}
}

// TestSubflowDiamondIsNoCycle checks that two paths to the same file are not a loop.
func TestSubflowDiamondIsNoCycle(t *testing.T) {
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{
		"a.yaml": "aiflow: 1\nsteps:\n  b:\n    uses: flow\n    with: { path: b.yaml }\n  c:\n    uses: flow\n    with: { path: c.yaml }\n",
		"b.yaml": "aiflow: 1\nsteps:\n  c:\n    uses: flow\n    with: { path: c.yaml }\n",
		"c.yaml": "aiflow: 1\nsteps:\n  leaf_step:\n    uses: counted\n    with: { expr: 1 }\n",
	})
	b := &builds{n: map[string]int{}}
	if _, diags := validateWith(t, b.registry(t), filepath.Join(dir, "a.yaml")); diags.HasErrors() {
		t.Fatalf("validate: %v", diags)
	}
	if got := b.counts()["leaf_step"]; got != 1 {
		t.Errorf("c.yaml compiled %d times, want 1", got)
	}
}

// TestSubflowCycleAtRun checks the run-time backstop: a flow that reaches itself through
// a path only known at run time (so validate cannot see the loop) fails at the first
// repeat instead of fanning out into thousands of nested runs.
func TestSubflowCycleAtRun(t *testing.T) {
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{
		"self.yaml": `aiflow: 1
vars:
  next: { type: string, default: self.yaml }
steps:
  mark:
    uses: counted
    with: { expr: 1 }
  again:
    uses: flow
    for_each: [1, 2]
    with: { path: "${ vars.next }" }
`,
	})
	b := &builds{n: map[string]int{}}
	fl, diags := validateWith(t, b.registry(t), filepath.Join(dir, "self.yaml"))
	if diags.HasErrors() {
		t.Fatalf("validate: %v", diags)
	}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = fl.Run(context.Background(), engine.RunOptions{Store: st, StateDir: dir})
	if err == nil || !strings.Contains(err.Error(), "sub-flow cycle") || !strings.Contains(err.Error(), "self.yaml → ") {
		t.Errorf("error = %v, want a sub-flow cycle naming self.yaml", err)
	}
	runs, err := st.ListRuns(context.Background(), store.ListRunsOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Errorf("%d runs recorded, want only the top-level one", len(runs))
	}
}

// TestSubflowDepth checks that validate refuses literal sub-flows nested deeper than a
// run would allow, at the step of the top flow through which they nest, and accepts the
// limit itself.
func TestSubflowDepth(t *testing.T) {
	chain := func(dir string, levels int) {
		files := map[string]string{}
		for i := 0; i < levels; i++ {
			files["f"+strconv.Itoa(i)+".yaml"] = "aiflow: 1\nsteps:\n  plain:\n    uses: transform\n    with: { expr: 1 }\n  down:\n    uses: flow\n    with: { path: f" + strconv.Itoa(i+1) + ".yaml }\n"
		}
		files["f"+strconv.Itoa(levels)+".yaml"] = "aiflow: 1\nsteps:\n  leaf_step:\n    uses: counted\n    with: { expr: 1 }\n"
		testfiles.Write(t, dir, files)
	}
	tests := []struct {
		levels int
		want   string // the error, "" for none
	}{
		{8, ""},
		{9, "f0.yaml:6:3: steps.down: sub-flows nest 9 levels deep through this step (limit 8)"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.levels), func(t *testing.T) {
			dir := t.TempDir()
			chain(dir, tt.levels)
			b := &builds{n: map[string]int{}}
			_, diags := validateWith(t, b.registry(t), filepath.Join(dir, "f0.yaml"))
			var got string
			if errs := diags.Errors(); len(errs) > 0 {
				got = strings.ReplaceAll(errs[0].String(), dir+string(filepath.Separator), "")
			}
			if tt.want == "" && got != "" || !strings.HasPrefix(got, tt.want) || len(diags.Errors()) > 1 {
				t.Errorf("got %v\nwant %q", diags.Errors(), tt.want)
			}
		})
	}
}
