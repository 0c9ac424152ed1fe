package engine_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine"
	// providers/all will register every provider; until it does, name them here so
	// the goldens do not depend on what other test files import.
	_ "github.com/aiflow/aiflow/providers/all"
	_ "github.com/aiflow/aiflow/providers/anthropic"
	_ "github.com/aiflow/aiflow/providers/local"
	_ "github.com/aiflow/aiflow/providers/openai"
	_ "github.com/aiflow/aiflow/providers/workersai"
	"github.com/aiflow/aiflow/spec"
	_ "github.com/aiflow/aiflow/steps/all"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testEnv is the environment env() sees in these tests, so warnings do not depend on
// the machine running them.
var testEnv = map[string]string{"AIFLOW_TEST_TOKEN": "test-token"}

func lookupTestEnv(name string) (string, bool) {
	v, ok := testEnv[name]
	return v, ok
}

// validate parses and compiles a flow file the way `aiflow validate` does: the engine
// sees the flow only when it parsed without errors.
func validate(path string) spec.Diagnostics {
	f, diags := spec.ParseFile(path)
	if diags.HasErrors() || f == nil {
		return diags
	}
	_, more := engine.Compile(f, engine.Options{LookupEnv: lookupTestEnv})
	return append(diags, more...).Sort()
}

func TestInvalidFlows(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			diags := validate(file)
			if !diags.HasErrors() {
				t.Fatalf("no errors; diagnostics: %v", diags)
			}
			checkGolden(t, strings.TrimSuffix(file, ".yaml")+".golden", render(diags))
			want := markedLines(src)
			if diff := cmp.Diff(want, diagLines(diags, want)); diff != "" {
				t.Errorf("# ERROR/# WARNING comments and diagnostics disagree (-comments +diagnostics):\n%s\nall diagnostics:\n%s", diff, render(diags))
			}
		})
	}
}

func render(diags spec.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./engine -run TestInvalidFlows -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// marker is one expected diagnostic: its severity and a substring of its summary.
type marker struct {
	Severity string
	Summary  string
}

var markerRE = regexp.MustCompile(`#\s*(ERROR|WARNING):\s*(.*?)\s*$`)

// markedLines reads `# ERROR: summary` and `# WARNING: summary` comments, keyed by line.
// Several expected diagnostics on one line are separated by " | ".
func markedLines(src []byte) map[int][]marker {
	out := map[int][]marker{}
	for i, line := range strings.Split(string(src), "\n") {
		m := markerRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, s := range strings.Split(m[2], " | ") {
			out[i+1] = append(out[i+1], marker{Severity: strings.ToLower(m[1]), Summary: s})
		}
		sortMarkers(out[i+1])
	}
	return out
}

// diagLines keys diagnostics by line the same way; a summary that contains a wanted
// marker's text is shortened to it, so comparing with markedLines shows only real
// disagreements.
func diagLines(diags spec.Diagnostics, want map[int][]marker) map[int][]marker {
	out := map[int][]marker{}
	for _, d := range diags {
		got := marker{Severity: d.Severity.String(), Summary: d.Summary}
		for _, w := range want[d.Pos.Line] {
			if w.Severity == got.Severity && strings.Contains(d.Summary, w.Summary) {
				got.Summary = w.Summary
				break
			}
		}
		out[d.Pos.Line] = append(out[d.Pos.Line], got)
	}
	for _, ms := range out {
		sortMarkers(ms)
	}
	return out
}

func sortMarkers(ms []marker) {
	sort.Slice(ms, func(i, j int) bool { return fmt.Sprint(ms[i]) < fmt.Sprint(ms[j]) })
}

// TestValidFlows checks that every example flow and every valid spec fixture parses and
// compiles without errors.
func TestValidFlows(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../examples/flows/*.yaml", "../spec/testdata/valid/*.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no valid flows found")
	}
	for _, file := range files {
		t.Run(strings.TrimPrefix(filepath.ToSlash(file), "../"), func(t *testing.T) {
			diags := validate(file)
			if diags.HasErrors() {
				t.Fatalf("want no errors, got:\n%s", render(diags))
			}
			if len(diags) > 0 {
				t.Logf("warnings:\n%s", render(diags))
			}
		})
	}
}
