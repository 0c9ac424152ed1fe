package localindex

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// Every record on disk is a frame: a little-endian uint32 payload length, the CRC-32C of
// the payload, and the payload, whose first byte is the record type.
const (
	frameHeader = 8
	maxFrame    = 1 << 30
)

// Record types.
const (
	recLogHeader  = 'L' // wal.log first record: generation, dimensions
	recSnapHeader = 'H' // snapshot.bin first record
	recSlot       = 'S' // snapshot: one slot, in slot order
	recFree       = 'F' // snapshot: the free list, in order
	recEnd        = 'E' // snapshot: slot and live counts, last record
	recUpsert     = 'U' // log: a batch of vectors
	recDelete     = 'D' // log: a batch of ids
)

const formatVersion = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errShort = errors.New("record truncated")

// encoder builds frames into a reusable buffer.
type encoder struct{ b []byte }

// begin starts a frame of the given type and returns its offset for end.
func (e *encoder) begin(typ byte) int {
	start := len(e.b)
	e.b = append(e.b, 0, 0, 0, 0, 0, 0, 0, 0, typ)
	return start
}

// end fills in the length and checksum of the frame started at start.
func (e *encoder) end(start int) {
	p := e.b[start+frameHeader:]
	binary.LittleEndian.PutUint32(e.b[start:], uint32(len(p)))
	binary.LittleEndian.PutUint32(e.b[start+4:], crc32.Checksum(p, castagnoli))
}

func (e *encoder) reset()            { e.b = e.b[:0] }
func (e *encoder) u8(v byte)         { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) str(s string)      { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bytes(p []byte)    { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *encoder) f32(v float32)     { e.b = binary.LittleEndian.AppendUint32(e.b, math.Float32bits(v)) }
func (e *encoder) f32s(vs []float32) { e.b = appendF32s(e.b, vs) }

func appendF32s(b []byte, vs []float32) []byte {
	n := len(b)
	b = append(b, make([]byte, 4*len(vs))...)
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[n+4*i:], math.Float32bits(v))
	}
	return b
}

// decoder reads a payload; the first error sticks and later reads return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errShort
	}
	d.b = nil
}

func (d *decoder) u8() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) raw(n uint64) []byte {
	if uint64(len(d.b)) < n {
		d.fail()
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) str() string   { return string(d.raw(d.uvarint())) }
func (d *decoder) bytes() []byte { return d.raw(d.uvarint()) }

func (d *decoder) f32() float32 {
	p := d.raw(4)
	if p == nil {
		return 0
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(p))
}

// f32s fills dst from the payload.
func (d *decoder) f32s(dst []float32) {
	p := d.raw(uint64(4 * len(dst)))
	if p == nil {
		return
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
}

// done reports a decoding error, including unread trailing bytes.
func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d unexpected trailing bytes", len(d.b))
	}
	return d.err
}

// checkFrame validates a frame header against the bytes available and returns the payload
// length.
func checkFrame(hdr []byte, avail int64) (n int64, crc uint32, ok bool) {
	n = int64(binary.LittleEndian.Uint32(hdr))
	crc = binary.LittleEndian.Uint32(hdr[4:])
	return n, crc, n > 0 && n <= maxFrame && n <= avail
}
