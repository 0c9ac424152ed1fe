package localindex

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Compaction is what CompactAll did to one index.
type Compaction struct {
	Name      string
	Before    int64 // bytes of the index directory before
	After     int64 // and after; equal to Before on a dry run or when left alone
	Compacted bool  // the log held records and was (or, on a dry run, would be) folded into a snapshot
	Err       error // the index could not be compacted (in use by another process, damaged)
}

// CompactAll compacts every local index kept under stateDir (stateDir/indexes/<name>),
// for `aiflow gc`: each log that holds records is folded into a fresh snapshot, which
// drops every overwritten or deleted vector it still carries. Indexes whose log is empty
// are left alone. A failure on one index is reported in its Compaction and the others
// still run; the error is for the state directory itself. Results are sorted by name.
func CompactAll(stateDir string, dryRun bool) ([]Compaction, error) {
	root := filepath.Join(stateDir, "indexes")
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing local indexes: %w", err)
	}
	var out []Compaction
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if !e.IsDir() {
			continue
		}
		if _, exists, err := readMeta(dir); err == nil && !exists {
			continue // not an index (or one whose creation never finished)
		}
		out = append(out, compactDir(dir, dryRun))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func compactDir(dir string, dryRun bool) Compaction {
	c := Compaction{Name: filepath.Base(dir)}
	var err error
	if c.Before, err = dirSize(dir); err != nil {
		c.Err = err
		return c
	}
	c.After = c.Before
	m, _, err := readMeta(dir)
	if err != nil {
		c.Err = err
		return c
	}
	_, graphErr := os.Stat(filepath.Join(dir, graphName))
	p := newParams(c.Name, m.Dimensions, m.Metric)
	p.mdIdx, p.ann = m.MetadataIndexes, graphErr == nil
	x, err := openIndex(dir, p, false)
	if err != nil {
		c.Err = err
		return c
	}
	defer x.Close()
	x.c.writeMu.Lock()
	c.Compacted = x.c.log.size > x.c.log.start
	if c.Compacted && !dryRun {
		err = x.c.compact()
	}
	x.c.writeMu.Unlock()
	if err != nil {
		c.Err = err
		return c
	}
	if c.Compacted && !dryRun {
		if err := x.Close(); err != nil {
			c.Err = err
			return c
		}
		if c.After, err = dirSize(dir); err != nil {
			c.Err = err
		}
	}
	return c
}

// dirSize adds up the sizes of the files directly in dir.
func dirSize(dir string) (int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("measuring index: %w", err)
	}
	var n int64
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return 0, fmt.Errorf("measuring index: %w", err)
		}
		n += fi.Size()
	}
	return n, nil
}
