//go:build unix

package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aiflow/aiflow/engine"
)

// TestIndexInUseFailsTheStep is issue 11 finding 16: when another process holds a local
// index, the step fails with the backend's "in use by another process" error, and closing
// the run must not call Close on the index that never opened (it used to dereference a
// nil *localindex.Index and panic after the clear error).
func TestIndexInUseFailsTheStep(t *testing.T) {
	const src = `
aiflow: 1
resources:
  kb: { kind: vector-index, backend: local, dimensions: 2 }
steps:
  put:
    uses: upsert
    with:
      index: ${ resources.kb }
      vectors: [[1, 0]]
      texts: ["a"]
`
	dir := t.TempDir()
	idx := filepath.Join(dir, "indexes", "kb")
	if err := os.MkdirAll(idx, 0o755); err != nil {
		t.Fatal(err)
	}
	// A second open file description of the index lock is what another process holds.
	f, err := os.OpenFile(filepath.Join(idx, "LOCK"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	fl := e2eFlow(t, src, nil)
	st := openStore(t)
	res, err := fl.Run(context.Background(), engine.RunOptions{Store: st, StateDir: dir})
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("run error = %v, want the index's in-use error", err)
	}
	if res == nil || res.Steps[0].Status != engine.StatusFailed {
		t.Fatalf("result = %+v, want step put failed", res)
	}
}
