package localindex

import (
	"fmt"
	"os"
	"path/filepath"
)

// countLive counts the live vectors of a closed index by scanning ids in its snapshot and
// log, read-only and without the lock: a torn tail being written by another process is
// ignored, not truncated. A compaction racing the scan is retried.
func countLive(dir string, m metaFile) (int, error) {
	var err error
	for range 3 {
		var n int
		var retry bool
		if n, retry, err = scanIDs(dir, m); err == nil && !retry {
			return n, nil
		}
	}
	if err == nil {
		err = fmt.Errorf("index %s kept compacting during the scan", dir)
	}
	return 0, err
}

func scanIDs(dir string, m metaFile) (n int, retry bool, err error) {
	ids := map[string]bool{}
	f, sc, info, ok, err := openSnapshot(dir, m.Dimensions, m.Metric)
	if err != nil {
		return 0, false, err
	}
	if ok {
		err = snapshotIDs(sc, info.slots, ids)
		f.Close()
		if err != nil {
			return 0, false, fmt.Errorf("snapshot: %w", err)
		}
	}
	lf, err := os.Open(filepath.Join(dir, walName))
	if err != nil {
		return 0, false, err
	}
	defer lf.Close()
	w := &wal{f: lf, path: lf.Name()}
	if err := w.readHeader(m.Dimensions); err != nil {
		return 0, false, err
	}
	switch {
	case w.gen < info.gen:
		return len(ids), false, nil // an interrupted compaction's stale log
	case w.gen > info.gen:
		return 0, true, nil
	}
	st, err := lf.Stat()
	if err != nil {
		return 0, false, err
	}
	_, err = scanLog(lf, w.size, st.Size(), func(p []byte, _ int64) error { return logIDs(p, m.Dimensions, ids) })
	return len(ids), false, err
}

func snapshotIDs(sc *frameScanner, slots int, ids map[string]bool) error {
	for range slots {
		p, err := sc.next()
		if err != nil {
			return err
		}
		d := decoder{b: p[1:]}
		if p[0] == recSlot && d.u8() == 1 {
			ids[d.str()] = true
		}
		if d.err != nil {
			return d.err
		}
	}
	return nil
}

func logIDs(p []byte, dim int, ids map[string]bool) error {
	d := &decoder{b: p[1:]}
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		return fmt.Errorf("record claims %d entries in %d bytes", n, len(d.b))
	}
	switch p[0] {
	case recUpsert:
		for range n {
			id := d.str()
			d.str()
			d.str()
			d.bytes()
			d.raw(uint64(4 + 4*dim))
			ids[id] = true
		}
	case recDelete:
		for range n {
			delete(ids, d.str())
		}
	}
	return d.done()
}
