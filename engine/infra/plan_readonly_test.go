package infra

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestPlanCreatesNothing: a plan only looks. A local database or index that does not
// exist yet (never applied, or deleted outside aiflow) is planned for creation, and its
// file is not made by looking for it.
func TestPlanCreatesNothing(t *testing.T) {
	flow := cfProvider + `resources:
  db: { kind: database, migrations: migrations }
  kb: { kind: vector-index, dimensions: 4 }
  p: { kind: prompt, database: db }
` + noopStep
	tests := []struct {
		name  string
		setup func(h *harness)
	}{
		{"never applied", func(h *harness) {}},
		{"deleted outside aiflow", func(h *harness) {
			h.apply(h.flow("flow.yaml"))
			for _, p := range []string{"databases", "indexes"} {
				if err := os.RemoveAll(filepath.Join(h.state, p)); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.write("migrations/001_t.sql", "CREATE TABLE t (x);\n")
			h.write("flow.yaml", flow)
			tt.setup(h)
			before := files(t, h.state)
			p := h.plan(h.flow("flow.yaml"))
			for _, c := range p.Resources {
				if c.Action != ActionCreate {
					t.Errorf("%s: %s (%s), want %s", c.Name, c.Action, c.Info, ActionCreate)
				}
			}
			if after := files(t, h.state); !slices.Equal(before, after) {
				t.Errorf("plan changed the state directory:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// TestPlanWithoutState: before anything was applied there is no state directory, and
// the plan does not make one: it plans every resource from nothing (nil store).
func TestPlanWithoutState(t *testing.T) {
	h := newHarness(t)
	h.write("migrations/001_t.sql", "CREATE TABLE t (x);\n")
	h.write("flow.yaml", cfProvider+`resources:
  db: { kind: database, migrations: migrations }
  remote: { kind: database, backend: d1, provider: cf, migrations: migrations }
  kb: { kind: vector-index, dimensions: 4 }
  p: { kind: prompt, database: remote }
`+noopStep)
	opts := h.opts()
	opts.StateDir = filepath.Join(t.TempDir(), "nothing-here", ".aiflow")
	p, err := NewPlan(context.Background(), h.flow("flow.yaml"), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Resources {
		if c.Action != ActionCreate {
			t.Errorf("%s: %s, want %s", c.Name, c.Action, ActionCreate)
		}
	}
	if _, err := os.Stat(filepath.Dir(opts.StateDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the plan made the state directory's parent: %v", err)
	}
	if _, err := Apply(context.Background(), h.flow("flow.yaml"), nil, opts, nil); err == nil {
		t.Error("Apply without a state store succeeded")
	}
}

// files lists the paths under dir, except the state store's own files.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if filepath.Dir(rel) == "." && (filepath.Ext(rel) != "" || rel == ".") && !d.IsDir() {
			return nil // state.db and its WAL, .gitignore, the lock
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
