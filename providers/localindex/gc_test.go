package localindex

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/aiflow/aiflow/providers"
)

// TestCompactAll covers `aiflow gc` compacting every local index of a state directory:
// a log holding overwritten vectors shrinks, an empty log is left alone, an index open in this process is compacted through its
// shared core, a dry run
// changes nothing, and the vectors read back unchanged.
func TestCompactAll(t *testing.T) {
	state := t.TempDir()
	root := filepath.Join(state, "indexes")
	r := rand.New(rand.NewPCG(3, 4))
	busy := mustOpenDir(t, filepath.Join(root, "busy"), 8)
	mustUpsert(t, busy, randVectors(r, "b", 5, 8))
	churned := mustOpenDir(t, filepath.Join(root, "churned"), 8)
	for range 4 { // the same ids rewritten with new values: three quarters of the log is dead
		mustUpsert(t, churned, randVectors(r, "c", 50, 8))
	}
	want, err := churned.GetByIDs(ctx, []string{"c7"})
	if err != nil {
		t.Fatal(err)
	}
	churned.Close()
	mustOpenDir(t, filepath.Join(root, "empty"), 8).Close()
	if err := os.MkdirAll(filepath.Join(root, "not-an-index"), 0o755); err != nil {
		t.Fatal(err)
	}

	dry, err := CompactAll(state, true)
	if err != nil {
		t.Fatal(err)
	}
	got, err := CompactAll(state, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(dry) != 3 {
		t.Fatalf("CompactAll = %+v (dry run %+v); want the 3 indexes", got, dry)
	}
	for i, c := range got {
		d := dry[i]
		if d.Name != c.Name || d.Before != c.Before || d.Compacted != c.Compacted || d.After != d.Before {
			t.Errorf("dry run %+v does not match the real one %+v", d, c)
		}
		switch c.Name {
		case "busy": // open in this process: compacted through the shared core
			if c.Err != nil || !c.Compacted {
				t.Errorf("busy: %+v; want compacted", c)
			}
		case "churned":
			if !c.Compacted || c.After > c.Before/2 {
				t.Errorf("churned: %+v; want compacted to under half", c)
			}
		case "empty":
			if c.Compacted || c.Err != nil || c.After != c.Before {
				t.Errorf("empty: %+v; want left alone", c)
			}
		default:
			t.Errorf("unexpected index %+v", c)
		}
	}
	x := mustOpenDir(t, filepath.Join(root, "churned"), 8)
	back, err := x.GetByIDs(ctx, []string{"c7"})
	if err != nil || len(back) != 1 || !closeTo(back[0].Values, want[0].Values) || back[0].Text != want[0].Text {
		t.Errorf("after compaction c7 = %+v, %v; want %+v", back, err, want)
	}
}

func mustOpenDir(t *testing.T, dir string, dim int) *Index {
	t.Helper()
	return mustOpen(t, dir, providers.IndexSpec{Name: filepath.Base(dir), Backend: "local", Dimensions: dim, Metric: metricCosine})
}
