package hnsw

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

const (
	fileMagic   = "aiflow-hnsw\x00"
	fileVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WriteTo writes the graph: a header, every node's level and links, and a CRC-32C of all
// of it. It must not run concurrently with Insert or Update.
func (g *Graph) WriteTo(w io.Writer) (int64, error) {
	h := crc32.New(castagnoli)
	cw := &countWriter{w: io.MultiWriter(w, h)}
	bw := bufio.NewWriterSize(cw, 1<<16)
	var b [4]byte
	put := func(v uint32) {
		binary.LittleEndian.PutUint32(b[:], v)
		bw.Write(b[:])
	}
	bw.WriteString(fileMagic)
	put(fileVersion)
	put(uint32(g.m))
	put(uint32(g.capacity()))
	put(g.entry)
	put(uint32(int32(g.topLevel)))
	for id := range g.capacity() {
		p, i := g.node(uint32(id))
		level := int(p.level[i])
		bw.WriteByte(byte(int8(level)))
		for lc := 0; lc <= level; lc++ {
			l := g.list(p, i, lc)
			bw.WriteByte(byte(l[0]))
			for _, e := range l[1 : 1+l[0]] {
				put(e)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	n, err := w.Write(binary.LittleEndian.AppendUint32(nil, h.Sum32()))
	return cw.n + int64(n), err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Read loads a graph written by WriteTo with the same M.
func Read(r io.Reader, cfg Config, vec VectorFunc, dist DistanceFunc) (*Graph, error) {
	g := New(cfg, vec, dist)
	br := &reader{r: bufio.NewReaderSize(r, 1<<16), h: crc32.New(castagnoli)}
	magic := make([]byte, len(fileMagic))
	br.full(magic)
	version, m, capacity, entry, top := br.u32(), br.u32(), br.u32(), br.u32(), int32(br.u32())
	switch {
	case br.err != nil:
		return nil, fmt.Errorf("reading graph header: %w", br.err)
	case string(magic) != fileMagic || version != fileVersion:
		return nil, errors.New("not an hnsw graph of this version")
	case int(m) != g.m:
		return nil, fmt.Errorf("graph has M=%d, want %d", m, g.m)
	case capacity%pageSize != 0 || capacity > 1<<31 || top > maxLevel || (top >= 0 && entry >= capacity):
		return nil, errors.New("bad graph header")
	}
	g.Grow(int(capacity))
	g.entry, g.topLevel = entry, int(top)
	if err := g.readNodes(br, capacity); err != nil {
		return nil, err
	}
	sum := br.h.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(br.r, tail[:]); err != nil || binary.LittleEndian.Uint32(tail[:]) != sum {
		return nil, errors.New("graph checksum mismatch")
	}
	return g, nil
}

func (g *Graph) readNodes(br *reader, capacity uint32) error {
	var count int64
	for id := range capacity {
		level := int(int8(br.byte()))
		if level > maxLevel {
			return fmt.Errorf("node %d: bad level %d", id, level)
		}
		p, i := g.node(id)
		p.level[i] = int8(level)
		if level < 0 {
			continue
		}
		count++
		if level > 0 {
			p.upper[i] = make([]uint32, level*(g.m+1))
		}
		for lc := 0; lc <= level; lc++ {
			l := g.list(p, i, lc)
			n := uint32(br.byte())
			if int(n) > g.maxLinks(lc) {
				return fmt.Errorf("node %d: %d links on layer %d", id, n, lc)
			}
			l[0] = n
			for j := range n {
				if l[1+j] = br.u32(); l[1+j] >= capacity {
					return fmt.Errorf("node %d links to %d beyond the graph", id, l[1+j])
				}
			}
		}
		if br.err != nil {
			return fmt.Errorf("reading graph: %w", br.err)
		}
	}
	g.count.Store(count)
	return nil
}

// reader reads little-endian values; the first error sticks.
type reader struct {
	r   *bufio.Reader
	h   hash.Hash32 // of every byte handed out
	err error
	buf [4]byte
}

func (r *reader) full(p []byte) {
	if r.err == nil {
		_, r.err = io.ReadFull(r.r, p)
		r.h.Write(p)
	}
}

func (r *reader) u32() uint32 {
	r.full(r.buf[:4])
	return binary.LittleEndian.Uint32(r.buf[:4])
}

func (r *reader) byte() byte {
	r.full(r.buf[:1])
	return r.buf[0]
}
