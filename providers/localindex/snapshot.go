package localindex

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

const (
	snapName  = "snapshot.bin"
	snapMagic = "aiflow-vector-snapshot"
)

// writeSnapshot atomically replaces dir's snapshot with every slot of st, tagged with gen,
// and returns its size.
func writeSnapshot(dir string, gen uint64, metric string, st *store) (int64, error) {
	var size int64
	err := replaceFile(filepath.Join(dir, snapName), func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		var e encoder
		flush := func() error {
			_, err := bw.Write(e.b)
			size += int64(len(e.b))
			e.reset()
			return err
		}
		start := e.begin(recSnapHeader)
		e.str(snapMagic)
		e.uvarint(formatVersion)
		e.uvarint(gen)
		e.uvarint(uint64(st.dim))
		e.str(metric)
		e.uvarint(uint64(st.slots()))
		e.end(start)
		for slot := range st.slots() {
			if err := flush(); err != nil {
				return err
			}
			if err := e.putSlot(st, uint32(slot)); err != nil {
				return err
			}
		}
		e.putTail(st)
		if err := flush(); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return 0, fmt.Errorf("writing snapshot: %w", err)
	}
	return size, nil
}

func (e *encoder) putSlot(st *store, slot uint32) error {
	start := e.begin(recSlot)
	if st.live[slot] {
		mj, _, err := encodeMeta(st.meta[slot])
		if err != nil {
			return fmt.Errorf("vector %q: %w", st.ids[slot], err)
		}
		e.u8(1)
		e.str(st.ids[slot])
		e.str(st.ns[slot])
		e.str(st.text[slot])
		e.bytes(mj)
	} else {
		e.u8(0)
	}
	e.f32(st.norms[slot])
	e.f32s(st.vec(slot))
	e.end(start)
	return nil
}

func (e *encoder) putTail(st *store) {
	start := e.begin(recFree)
	e.uvarint(uint64(len(st.free)))
	for _, s := range st.free {
		e.uvarint(uint64(s))
	}
	e.end(start)
	start = e.begin(recEnd)
	e.uvarint(uint64(st.slots()))
	e.uvarint(uint64(st.count))
	e.end(start)
}

// frameScanner reads frames sequentially from a file that must be intact.
type frameScanner struct {
	r    *bufio.Reader
	off  int64
	size int64
	buf  []byte
}

func (s *frameScanner) next() ([]byte, error) {
	var hdr [frameHeader]byte
	if s.off == s.size {
		return nil, io.EOF
	}
	if _, err := io.ReadFull(s.r, hdr[:]); err != nil {
		return nil, fmt.Errorf("at offset %d: %w", s.off, errShort)
	}
	n, crc, ok := checkFrame(hdr[:], s.size-s.off-frameHeader)
	if !ok {
		return nil, fmt.Errorf("at offset %d: bad record length", s.off)
	}
	s.buf = grow(s.buf, int(n))
	if _, err := io.ReadFull(s.r, s.buf); err != nil {
		return nil, fmt.Errorf("at offset %d: %w", s.off, err)
	}
	if crc32.Checksum(s.buf, castagnoli) != crc {
		return nil, fmt.Errorf("at offset %d: checksum mismatch", s.off)
	}
	s.off += frameHeader + n
	return s.buf, nil
}

// snapInfo is what a snapshot header says.
type snapInfo struct {
	gen   uint64
	size  int64
	slots int
}

// openSnapshot opens dir's snapshot and reads its header; ok is false when there is none.
func openSnapshot(dir string, dim int, metric string) (*os.File, *frameScanner, snapInfo, bool, error) {
	path := filepath.Join(dir, snapName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, snapInfo{}, false, nil
	}
	if err != nil {
		return nil, nil, snapInfo{}, false, fmt.Errorf("opening snapshot: %w", err)
	}
	info, sc, err := readSnapHeader(f, dim, metric)
	if err != nil {
		f.Close()
		return nil, nil, snapInfo{}, false, fmt.Errorf("snapshot %s: %w", path, err)
	}
	return f, sc, info, true, nil
}

func readSnapHeader(f *os.File, dim int, metric string) (snapInfo, *frameScanner, error) {
	st, err := f.Stat()
	if err != nil {
		return snapInfo{}, nil, err
	}
	sc := &frameScanner{r: bufio.NewReaderSize(f, 1<<20), size: st.Size()}
	p, err := sc.next()
	if err != nil {
		return snapInfo{}, nil, err
	}
	if p[0] != recSnapHeader {
		return snapInfo{}, nil, errors.New("missing header")
	}
	d := decoder{b: p[1:]}
	magic, version, gen, gotDim, gotMetric, slots := d.str(), d.uvarint(), d.uvarint(), d.uvarint(), d.str(), d.uvarint()
	switch {
	case d.done() != nil || magic != snapMagic:
		return snapInfo{}, nil, errors.New("not an aiflow vector snapshot")
	case version != formatVersion:
		return snapInfo{}, nil, fmt.Errorf("format version %d, want %d", version, formatVersion)
	case int(gotDim) != dim || gotMetric != metric:
		return snapInfo{}, nil, fmt.Errorf("snapshot is %d-dimensional %s, index is %d-dimensional %s", gotDim, gotMetric, dim, metric)
	}
	return snapInfo{gen: gen, size: st.Size(), slots: int(slots)}, sc, nil
}

// loadSnapshot fills the empty store st from dir's snapshot.
func loadSnapshot(dir string, metric string, st *store) (snapInfo, error) {
	f, sc, info, ok, err := openSnapshot(dir, st.dim, metric)
	if err != nil || !ok {
		return info, err
	}
	defer f.Close()
	if err := loadSlots(sc, info.slots, st); err != nil {
		return info, fmt.Errorf("snapshot %s: %w", f.Name(), err)
	}
	return info, nil
}

func loadSlots(sc *frameScanner, slots int, st *store) error {
	for range slots {
		p, err := sc.next()
		if err != nil {
			return err
		}
		if p[0] != recSlot {
			return fmt.Errorf("record type %q where a slot was expected", p[0])
		}
		if err := st.loadSlot(&decoder{b: p[1:]}); err != nil {
			return fmt.Errorf("slot %d: %w", st.slots()-1, err)
		}
	}
	p, err := sc.next()
	if err != nil {
		return err
	}
	if err := st.loadFree(p); err != nil {
		return err
	}
	p, err = sc.next()
	if err != nil {
		return err
	}
	d := decoder{b: p[1:]}
	n, live := d.uvarint(), d.uvarint()
	if p[0] != recEnd || d.done() != nil || int(n) != st.slots() || int(live) != st.count {
		return errors.New("bad end record")
	}
	return nil
}

// loadSlot appends one snapshot slot.
func (s *store) loadSlot(d *decoder) error {
	slot := s.alloc()
	if d.u8() == 1 {
		id, ns, text := d.str(), d.str(), d.str()
		m, err := decodeMeta(d.bytes())
		if err != nil {
			return err
		}
		if _, dup := s.byID[id]; dup {
			return fmt.Errorf("duplicate id %q", id)
		}
		s.byID[id] = slot
		s.ids[slot], s.ns[slot], s.text[slot], s.meta[slot] = id, s.intern(ns), text, m
		s.live[slot] = true
		s.count++
	}
	s.norms[slot] = d.f32()
	d.f32s(s.vec(slot))
	return d.done()
}

func (s *store) loadFree(p []byte) error {
	if p[0] != recFree {
		return errors.New("missing free list")
	}
	d := decoder{b: p[1:]}
	n := d.uvarint()
	if n != uint64(s.slots()-s.count) {
		return fmt.Errorf("free list has %d slots, %d are free", n, s.slots()-s.count)
	}
	s.free = make([]uint32, 0, n)
	for range n {
		slot := d.uvarint()
		if slot >= uint64(s.slots()) || s.live[slot] {
			return fmt.Errorf("free list names slot %d", slot)
		}
		s.free = append(s.free, uint32(slot))
	}
	return d.done()
}
