package spec_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/spec"
)

// TestReadRoots: a top-level flow reached through a symlink still parses (its folder is
// where the link is), while a sub-flow must lie in the caller's roots after resolving
// symlinks; --allow-read directories must exist.
func TestReadRoots(t *testing.T) {
	root := t.TempDir()
	flows, elsewhere := filepath.Join(root, "flows"), filepath.Join(root, "elsewhere")
	for _, d := range []string{flows, elsewhere} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src := "aiflow: 1\nsteps:\n  t:\n    uses: transform\n    with: {expr: hi}\n"
	real := filepath.Join(elsewhere, "real.yaml")
	if err := os.WriteFile(real, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(flows, "flow.yaml")
	if err := os.Symlink(real, link); err != nil {
		t.Skipf("symlink: %v", err)
	}
	roots, err := spec.NewReadRoots(flows)
	if err != nil {
		t.Fatal(err)
	}
	if _, diags := spec.ParseFileIn(link, roots); diags.HasErrors() {
		t.Errorf("top-level flow through a symlink: %v", diags.Err())
	}
	for _, path := range []string{link, real, filepath.Join(flows, "..", "elsewhere", "real.yaml")} {
		_, diags := spec.ParseSubFlow(path, roots)
		if err := diags.Err(); err == nil || !strings.Contains(err.Error(), "outside the directories this flow may read") {
			t.Errorf("sub-flow %s: got %v", path, err)
		}
	}
	if _, err := roots.Resolve(real); !errors.Is(err, spec.ErrReadDenied) {
		t.Errorf("Resolve outside: got %v, want ErrReadDenied", err)
	}
	wide, err := spec.NewReadRoots(flows, elsewhere)
	if err != nil {
		t.Fatal(err)
	}
	if _, diags := spec.ParseSubFlow(link, wide); diags.HasErrors() {
		t.Errorf("sub-flow in an allowed directory: %v", diags.Err())
	}
	if _, err := spec.NewReadRoots(flows, filepath.Join(root, "missing")); err == nil || !strings.Contains(err.Error(), "--allow-read") {
		t.Errorf("missing --allow-read directory: got %v", err)
	}
	if _, err := spec.NewReadRoots(flows, real); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("--allow-read of a file: got %v", err)
	}
}
