package localindex

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

const (
	walName  = "wal.log"
	walMagic = "aiflow-vector-log"
)

// wal is the append-only log. It is not safe for concurrent use; core serialises writers.
type wal struct {
	f      *os.File
	path   string
	gen    uint64
	size   int64 // end of the last durable record
	start  int64 // end of the header: a log no longer than this holds no records
	broken error // set when a failed write left the file in an unknown state
}

// createWAL atomically replaces dir's log with an empty one of generation gen.
func createWAL(dir string, gen uint64, dim int) (*wal, error) {
	var e encoder
	start := e.begin(recLogHeader)
	e.str(walMagic)
	e.uvarint(formatVersion)
	e.uvarint(gen)
	e.uvarint(uint64(dim))
	e.end(start)
	path := filepath.Join(dir, walName)
	if err := writeFileAtomic(path, e.b); err != nil {
		return nil, fmt.Errorf("creating log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening log: %w", err)
	}
	return &wal{f: f, path: path, gen: gen, size: int64(len(e.b)), start: int64(len(e.b))}, nil
}

// openWAL opens dir's log and reads its header; replay must follow before appends.
func openWAL(dir string, dim int) (*wal, error) {
	path := filepath.Join(dir, walName)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening log: %w", err)
	}
	w := &wal{f: f, path: path}
	if err := w.readHeader(dim); err != nil {
		f.Close()
		return nil, fmt.Errorf("log %s: %w", path, err)
	}
	return w, nil
}

func (w *wal) readHeader(dim int) error {
	var hdr [frameHeader]byte
	if _, err := w.f.ReadAt(hdr[:], 0); err != nil {
		return fmt.Errorf("reading header: %w", err)
	}
	n, crc, ok := checkFrame(hdr[:], 1<<16)
	if !ok {
		return errors.New("bad header frame")
	}
	p := make([]byte, n)
	if _, err := w.f.ReadAt(p, frameHeader); err != nil {
		return fmt.Errorf("reading header: %w", err)
	}
	if crc32.Checksum(p, castagnoli) != crc || p[0] != recLogHeader {
		return errors.New("header checksum mismatch")
	}
	d := decoder{b: p[1:]}
	magic, version, gen, gotDim := d.str(), d.uvarint(), d.uvarint(), d.uvarint()
	if err := d.done(); err != nil || magic != walMagic {
		return errors.New("not an aiflow vector log")
	}
	if version != formatVersion {
		return fmt.Errorf("format version %d, want %d", version, formatVersion)
	}
	if int(gotDim) != dim {
		return fmt.Errorf("log has %d dimensions, index has %d", gotDim, dim)
	}
	w.gen, w.size, w.start = gen, frameHeader+n, frameHeader+n
	return nil
}

// replay calls fn with each record after the header and the offset where it ends. A torn
// tail is truncated away; a bad record followed by a good one is reported as corruption.
func (w *wal) replay(fn func(p []byte, end int64) error) error {
	st, err := w.f.Stat()
	if err != nil {
		return fmt.Errorf("log %s: %w", w.path, err)
	}
	end, err := scanLog(w.f, w.size, st.Size(), fn)
	if err != nil {
		return fmt.Errorf("log %s: %w", w.path, err)
	}
	w.size = end
	if end < st.Size() {
		return w.truncateTail(st.Size())
	}
	return nil
}

// scanLog reads records from off to fileSize and returns where the intact ones end.
func scanLog(f *os.File, off, fileSize int64, fn func(p []byte, end int64) error) (int64, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, off, fileSize-off), 1<<20)
	var hdr [frameHeader]byte
	var buf []byte
	for off+frameHeader <= fileSize {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return off, fmt.Errorf("reading at %d: %w", off, err)
		}
		n, crc, ok := checkFrame(hdr[:], fileSize-off-frameHeader)
		if !ok {
			break
		}
		buf = grow(buf, int(n))
		if _, err := io.ReadFull(r, buf); err != nil {
			return off, fmt.Errorf("reading at %d: %w", off, err)
		}
		if crc32.Checksum(buf, castagnoli) != crc {
			if frameAt(f, off+frameHeader+n, fileSize) {
				return off, fmt.Errorf("corrupt record at offset %d is followed by valid records; refusing to drop acknowledged writes", off)
			}
			break
		}
		if err := fn(buf, off+frameHeader+n); err != nil {
			return off, fmt.Errorf("record at offset %d: %w", off, err)
		}
		off += frameHeader + n
	}
	return off, nil
}

// frameAt reports whether a complete record with a valid checksum starts at off.
func frameAt(f *os.File, off, fileSize int64) bool {
	var hdr [frameHeader]byte
	if off+frameHeader > fileSize {
		return false
	}
	if _, err := f.ReadAt(hdr[:], off); err != nil {
		return false
	}
	n, crc, ok := checkFrame(hdr[:], fileSize-off-frameHeader)
	if !ok {
		return false
	}
	p := make([]byte, n)
	if _, err := f.ReadAt(p, off+frameHeader); err != nil {
		return false
	}
	return crc32.Checksum(p, castagnoli) == crc
}

func (w *wal) truncateTail(fileSize int64) error {
	if err := w.f.Truncate(w.size); err != nil {
		return fmt.Errorf("log %s: truncating torn tail (%d bytes): %w", w.path, fileSize-w.size, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("log %s: %w", w.path, err)
	}
	return nil
}

// append writes frames and fsyncs them. On failure the log is cut back to its last
// durable record, so a failed batch never half-survives.
func (w *wal) append(frames []byte) error {
	if w.broken != nil {
		return w.broken
	}
	if _, err := w.f.WriteAt(frames, w.size); err != nil {
		return w.rollback(fmt.Errorf("writing log: %w", err), false)
	}
	if err := w.f.Sync(); err != nil {
		// After a failed fsync the page cache state is unknown; refuse further writes.
		return w.rollback(fmt.Errorf("syncing log: %w", err), true)
	}
	w.size += int64(len(frames))
	return nil
}

func (w *wal) rollback(cause error, poison bool) error {
	if err := w.f.Truncate(w.size); err != nil {
		poison = true
	}
	if poison {
		w.broken = fmt.Errorf("index is read-only until reopened after a log failure: %w", cause)
	}
	return cause
}

func (w *wal) close() error { return w.f.Close() }

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
