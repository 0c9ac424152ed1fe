package infra

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
)

const lockChildEnv = "AIFLOW_INFRA_LOCK_CHILD"

const lockFlow = `aiflow: 1
name: lock
resources:
  db: { kind: database }
  kb: { kind: vector-index, dimensions: 4 }
` + noopStep

// waitFor polls for path; the bound only keeps a broken test from hanging.
func waitFor(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("%s never appeared", path)
}

// TestLockAcrossProcesses runs apply in a child process (this test binary again) that
// holds the state lock while it waits at its confirmation; an apply here meanwhile must
// fail naming the child, and succeed with nothing left to do once the child is done.
func TestLockAcrossProcesses(t *testing.T) {
	if dir := os.Getenv(lockChildEnv); dir != "" {
		lockChild(t, dir)
		return
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "flow.yaml"), []byte(lockFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	child := startChild(t, "TestLockAcrossProcesses", lockChildEnv+"="+dir)
	waitFor(t, filepath.Join(dir, "locked"))

	st, state := openState(t, dir)
	fl := compileFlow(t, filepath.Join(dir, "flow.yaml"), engine.Options{})
	opts := Options{StateDir: state, LockWait: 50 * time.Millisecond}
	_, err := Apply(context.Background(), fl, st, opts, nil)
	var le *store.LockedError
	if !errors.As(err, &le) || le.Holder.PID != child.cmd.Process.Pid || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", child.cmd.Process.Pid)) {
		t.Errorf("apply while the child holds the lock: %v", err)
	}
	if rs, _ := st.ListResources(context.Background()); len(rs) != 0 {
		t.Errorf("state changed under the lock: %v", rs)
	}

	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := child.wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, child.out.String())
	}
	p, err := Apply(context.Background(), fl, st, opts, nil)
	if err != nil || p.Changes {
		t.Errorf("apply after the child: changes=%v, %v", p != nil && p.Changes, err)
	}
}

// lockChild applies the flow in dir, holding the lock until the parent writes "release".
func lockChild(t *testing.T, dir string) {
	st, state := openState(t, dir)
	fl := compileFlow(t, filepath.Join(dir, "flow.yaml"), engine.Options{})
	_, err := Apply(context.Background(), fl, st, Options{StateDir: state}, func(*Plan) bool {
		if err := os.WriteFile(filepath.Join(dir, "locked"), nil, 0o644); err != nil {
			t.Error(err)
			return false
		}
		waitFor(t, filepath.Join(dir, "release"))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
}
