package temporal

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestSweepBundles: unpacked bundles used to stay on a worker's disk for good. A sweep
// removes those no worker marked as used for a week, and writers' leftovers.
func TestSweepBundles(t *testing.T) {
	base := t.TempDir()
	now := time.Now()
	mk := func(name string, complete bool, age time.Duration) {
		t.Helper()
		dir := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Join(dir, "flows"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "flows", "f.yaml"), []byte("aiflow: 1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		mark := dir
		if complete {
			mark = filepath.Join(dir, ".complete")
			if err := os.WriteFile(mark, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(mark, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	mk("used", true, time.Hour)
	mk("idle", true, 8*24*time.Hour)
	mk("idle.tmp123", false, 2*24*time.Hour) // a writer that stopped
	mk("busy.tmp456", false, time.Minute)    // a writer at work
	mk("unmarked", false, 30*24*time.Hour)   // not a bundle aiflow finished: left alone
	n, err := SweepBundles(base, now)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{"busy.tmp456", "unmarked", "used"}; n != 2 || !slices.Equal(left, want) {
		t.Errorf("swept %d, left %v; want 2 swept, %v left", n, left, want)
	}
	if n, err := SweepBundles(filepath.Join(base, "missing"), now); n != 0 || err != nil {
		t.Errorf("sweeping a missing directory: %d, %v; want nothing", n, err)
	}
}

// TestBundleInUseIsTouched: a worker using a bundle marks it at most once an hour, so a
// sweep never takes a bundle a worker holds.
func TestBundleInUseIsTouched(t *testing.T) {
	dir := t.TempDir()
	mark := filepath.Join(dir, ".complete")
	old := time.Now().Add(-30 * 24 * time.Hour)
	if err := os.WriteFile(mark, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(mark, old, old); err != nil {
		t.Fatal(err)
	}
	u := &bundleUse{dir: dir}
	now := time.Now()
	u.touch(now)
	if n, err := SweepBundles(filepath.Dir(dir), now); err != nil || n != 0 {
		t.Fatalf("swept %d (%v) right after the bundle was used", n, err)
	}
	if err := os.Chtimes(mark, old, old); err != nil {
		t.Fatal(err)
	}
	u.touch(now.Add(time.Minute)) // within the hour: no write
	if info, err := os.Stat(mark); err != nil || !info.ModTime().Equal(old) {
		t.Errorf("touched again within the hour (%v)", err)
	}
	u.touch(now.Add(2 * time.Hour))
	if info, err := os.Stat(mark); err != nil || info.ModTime().Before(now) {
		t.Errorf("not touched after an hour (%v)", err)
	}
}
