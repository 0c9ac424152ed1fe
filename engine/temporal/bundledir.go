package temporal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Unpacked bundles are shared by every worker of a machine, one directory per bundle
// hash under the bundle directory. A bundle in use is marked as such by the mtime of its
// .complete file, which each worker touches at most once per bundleTouch while it uses
// the bundle; SweepBundles removes the bundles nobody marked for bundleIdle, and the
// half-written directories of writers that stopped.
const (
	bundleIdle  = 7 * 24 * time.Hour
	bundleTouch = time.Hour
	// bundleTmpIdle is how old a writer's temporary directory must be to count as left
	// behind: a bundle is unpacked in well under a second.
	bundleTmpIdle = 24 * time.Hour
)

// bundleDir is where a's bundles are unpacked.
func (a *Activities) bundleDir() string {
	if a.BundleDir != "" {
		return a.BundleDir
	}
	return filepath.Join(os.TempDir(), "aiflow-bundles")
}

// bundleUse marks an unpacked bundle as in use, by touching its .complete file at most
// once per bundleTouch.
type bundleUse struct {
	dir     string // "" for a bundle not unpacked to disk
	touched atomic.Int64
}

func (u *bundleUse) touch(now time.Time) {
	if u == nil || u.dir == "" {
		return
	}
	last := u.touched.Load()
	if now.UnixNano()-last < int64(bundleTouch) || !u.touched.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	// A bundle swept meanwhile is unpacked again by the next activity that misses it.
	_ = os.Chtimes(filepath.Join(u.dir, ".complete"), now, now)
}

// KeepBundlesTidy sweeps the bundle directory of a now and every hour until ctx is done
// (aiflow worker runs it beside its workers). It is not a method: every exported method
// of Activities is registered as an activity.
func KeepBundlesTidy(ctx context.Context, a *Activities, warn func(error)) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := SweepBundles(a.bundleDir(), time.Now()); err != nil && warn != nil {
			warn(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepBundles removes from base the unpacked bundles no worker has used for
// bundleIdle, and writers' temporary directories older than bundleTmpIdle. It returns
// how many it removed. A missing base is nothing to sweep.
func SweepBundles(base string, now time.Time) (int, error) {
	entries, err := os.ReadDir(base)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sweeping unpacked bundles: %w", err)
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(base, e.Name())
		var stale bool
		if strings.Contains(e.Name(), ".tmp") {
			info, err := e.Info()
			stale = err == nil && now.Sub(info.ModTime()) > bundleTmpIdle
		} else {
			info, err := os.Stat(filepath.Join(dir, ".complete"))
			stale = err == nil && now.Sub(info.ModTime()) > bundleIdle
		}
		if !stale {
			continue
		}
		// Renamed first, so that no worker finds a half-removed bundle complete: one
		// that looks for it now unpacks it again.
		trash, err := os.MkdirTemp(base, ".trash*")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		gone := filepath.Join(trash, "bundle")
		if err := os.Rename(dir, gone); err != nil {
			os.Remove(trash)
			errs = append(errs, err)
			continue
		}
		if err := os.RemoveAll(trash); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("sweeping unpacked bundles: %w", err)
	}
	return removed, nil
}
