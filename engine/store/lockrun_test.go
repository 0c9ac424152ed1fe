package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLockRun is issue 11 finding 4: one run lock per flow in a state directory. A second
// run of the same flow fails naming the holder (pid, host, run); other flows, and the
// state lock of apply/destroy, are not blocked by it.
func TestLockRun(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	flow := filepath.Join(dir, "flow.yaml")
	unlock, err := LockRun(dir, flow, "run-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("same flow fails naming the holder", func(t *testing.T) {
		wd, _ := os.Getwd()
		rel, err := filepath.Rel(wd, flow)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{flow, rel} {
			_, err := LockRun(dir, path, "run-2", 30*time.Millisecond)
			var le *LockedError
			if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
				t.Fatalf("LockRun(%s): err = %v, want a *LockedError", path, err)
			}
			if le.Holder.RunID != "run-1" || le.Holder.PID != os.Getpid() || le.Holder.Flow != flow {
				t.Errorf("holder = %+v, want run-1 of %s in this process", le.Holder, flow)
			}
			for _, want := range []string{"flow " + flow + " is already running", fmt.Sprintf("pid %d", os.Getpid()), ", run run-1", "waited"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		}
	})
	t.Run("another flow runs at once", func(t *testing.T) {
		other, err := LockRun(dir, filepath.Join(dir, "other.yaml"), "run-3", 0)
		if err != nil {
			t.Fatalf("a different flow in the same state dir: %v", err)
		}
		if err := other(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("state lock is separate", func(t *testing.T) {
		state, err := Lock(dir, 0)
		if err != nil {
			t.Fatalf("state lock while a run holds its run lock: %v", err)
		}
		state()
	})
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	again, err := LockRun(dir, flow, "run-4", 0)
	if err != nil {
		t.Fatalf("LockRun after unlock: %v", err)
	}
	again()
}
