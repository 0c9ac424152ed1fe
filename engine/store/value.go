package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"unsafe"
)

// Step outputs and cache values are JSON-shaped values (what encoding/json decodes
// into any: nil, bool, float64, string, []any, map[string]any). They are stored in a
// binary form rather than as JSON text: an embedding is a list of hundreds of floats,
// and printing and parsing their decimal digits cost most of a cached re-run. The form
// is canonical (one value, one encoding: map keys sorted), so equal outputs share one
// blob, and an encoded list is the concatenation of its encoded elements, so a for_each
// step's whole output is assembled from its items' bytes without encoding them again.
//
// Layout: valueMagic, then one value. A value is a tag byte and its payload:
//
//	tagNull, tagFalse, tagTrue          no payload
//	tagFloat                            8 bytes, IEEE 754 bits, little-endian
//	tagString                           uvarint length, UTF-8 bytes
//	tagList                             uvarint count, that many values
//	tagMap                              uvarint count, that many (uvarint key length, key, value), keys ascending
//	tagFloats                           uvarint count ≥ 1, that many 8-byte floats: a list of numbers only
//	tagItems                            uvarint count: see ItemsValue
//	tagRef                              uvarint distance back to an earlier tagFloats of at least minRefFloats
//
// A packed list of numbers (tagFloats, minRefFloats or more) equal to one written
// earlier in the same value is written as tagRef, the distance from its own tag back to
// the first one's: an embed step's output holds its vector twice, as vector and as
// vectors[0], and a cached re-run read and decoded both. The distance is relative, so
// an encoded list is still the concatenation of its encoded elements when a reference
// stays within its element, which the encoder ensures for the elements of a top-level
// list (each is encoded on its own). A reference decodes to the same []any as the list
// it refers to: values are never written in place (step outputs are already shared
// between the steps that read them), and sharing bounds what a value can decode to.
//
// Data that does not start with valueMagic is JSON text, as every output was stored
// before schema version 4; the readers here accept both.

// valueMagic starts every encoded value. No JSON text starts with a byte ≥ 0x80.
const valueMagic = 0xA1

const (
	tagNull byte = iota
	tagFalse
	tagTrue
	tagFloat
	tagString
	tagList
	tagMap
	tagFloats
	tagItems
	tagRef
)

// minRefFloats is the length from which a repeated packed list is written as a reference.
const minRefFloats = 8

// maxValueDepth bounds the nesting DecodeValue follows, as encoding/json does.
const maxValueDepth = 10000

// ErrValue reports data that is neither a well-formed encoded value nor JSON, or a
// value that cannot be encoded.
var ErrValue = errors.New("malformed value")

// IsEncodedValue reports whether b is in the binary value form (not JSON text).
func IsEncodedValue(b []byte) bool { return len(b) > 0 && b[0] == valueMagic }

// EncodeValue returns the binary form of a JSON-shaped value. Anything else (an int, a
// struct, a NaN) is an error wrapping ErrValue: normalise through encoding/json first.
func EncodeValue(v any) ([]byte, error) {
	b := make([]byte, 1, 64) // a small output's encoding in one allocation
	b[0] = valueMagic
	if l, ok := v.([]any); ok && !allFloats(l) {
		// Each element on its own: references stay inside their element (see EncodeList).
		b = binary.AppendUvarint(append(b, tagList), uint64(len(l)))
		var err error
		for _, e := range l {
			var enc valueEncoder
			if b, err = enc.appendValue(b, e); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	var enc valueEncoder
	return enc.appendValue(b, v)
}

// valueEncoder remembers the packed lists of numbers written so far, to write a repeat
// as a reference.
type valueEncoder struct {
	seen map[uint64][]int // hash of a list's payload → offsets of its tags
}

var refSeed = maphash.MakeSeed()

// ref returns the offset of an earlier packed list with the same payload as b[at:],
// whose tag is at at, or -1 after remembering this one.
func (e *valueEncoder) ref(b []byte, at, payload int) int {
	h := maphash.Bytes(refSeed, b[payload:])
	for _, prev := range e.seen[h] {
		if bytes.Equal(b[prev+1:prev+1+len(b)-at-1], b[at+1:]) {
			return prev
		}
	}
	if e.seen == nil {
		e.seen = map[uint64][]int{}
	}
	e.seen[h] = append(e.seen[h], at)
	return -1
}

func (e *valueEncoder) appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, tagNull), nil
	case bool:
		if x {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%w: %v is not a JSON number", ErrValue, x)
		}
		return binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(x)), nil
	case string:
		b = binary.AppendUvarint(append(b, tagString), uint64(len(x)))
		return append(b, x...), nil
	case []any:
		if allFloats(x) {
			at := len(b)
			b = binary.AppendUvarint(append(b, tagFloats), uint64(len(x)))
			payload := len(b)
			b = slices.Grow(b, 8*len(x))
			for _, f := range x {
				f := f.(float64)
				if math.IsNaN(f) || math.IsInf(f, 0) {
					return nil, fmt.Errorf("%w: %v is not a JSON number", ErrValue, f)
				}
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
			}
			if len(x) >= minRefFloats {
				if prev := e.ref(b, at, payload); prev >= 0 {
					return binary.AppendUvarint(append(b[:at], tagRef), uint64(at-prev)), nil
				}
			}
			return b, nil
		}
		b = binary.AppendUvarint(append(b, tagList), uint64(len(x)))
		var err error
		for _, el := range x {
			if b, err = e.appendValue(b, el); err != nil {
				return nil, err
			}
		}
		return b, nil
	case map[string]any:
		var small [8]string // most outputs have a few keys: sort them without allocating
		keys := small[:0]
		if len(x) > len(small) {
			keys = make([]string, 0, len(x))
		}
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = binary.AppendUvarint(append(b, tagMap), uint64(len(x)))
		var err error
		for _, k := range keys {
			b = binary.AppendUvarint(b, uint64(len(k)))
			b = append(b, k...)
			if b, err = e.appendValue(b, x[k]); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: %T is not a JSON value", ErrValue, v)
}

func allFloats(l []any) bool {
	if len(l) == 0 {
		return false
	}
	for _, e := range l {
		if _, ok := e.(float64); !ok {
			return false
		}
	}
	return true
}

// EncodeList returns the encoded list whose elements are the encoded values items (each
// as EncodeValue returned it), without decoding them: the same bytes EncodeValue gives
// for the decoded list. It returns nil when an item is not an encoded value.
func EncodeList(items [][]byte) []byte {
	size := 1 + 1 + binary.MaxVarintLen64
	for _, it := range items {
		if !IsEncodedValue(it) {
			return nil
		}
		size += len(it) - 1
	}
	if len(items) > 0 && allFloatItems(items) {
		return nil // EncodeValue would pack these as tagFloats; callers encode instead
	}
	b := make([]byte, 0, size)
	b = append(b, valueMagic, tagList)
	b = binary.AppendUvarint(b, uint64(len(items)))
	for _, it := range items {
		b = append(b, it[1:]...)
	}
	return b
}

func allFloatItems(items [][]byte) bool {
	for _, it := range items {
		if len(it) < 2 || it[1] != tagFloat {
			return false
		}
	}
	return true
}

// ItemsValue is the output to record for a for_each step of n items whose item
// records (items 0 to n-1 of the same run and step) all hold their outputs: the list of
// those outputs, by reference. The step's whole output then costs a few bytes instead of
// a second copy of every item's (Steps and GetStep put the list together on reading).
// The item records are written before it and deleted with it, as rows of the same run.
func ItemsValue(n int) []byte {
	return binary.AppendUvarint([]byte{valueMagic, tagItems}, uint64(n))
}

// itemsCount returns n for ItemsValue(n), or false for any other data.
func itemsCount(b []byte) (int, bool) {
	if len(b) < 3 || b[0] != valueMagic || b[1] != tagItems {
		return 0, false
	}
	n, k := binary.Uvarint(b[2:])
	if k <= 0 || 2+k != len(b) || n > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}

// DecodeValue decodes an output as stored: the binary form, or JSON text.
func DecodeValue(b []byte) (any, error) {
	if !IsEncodedValue(b) {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrValue, err)
		}
		return v, nil
	}
	d := valueDecoder{b: b, at: 1}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.at != len(d.b) {
		return nil, d.errorf("%d bytes after the value", len(d.b)-d.at)
	}
	return v, nil
}

// ValueJSON returns a stored output as JSON text: binary values are converted, JSON
// text is returned as it is.
func ValueJSON(b []byte) (json.RawMessage, error) {
	if !IsEncodedValue(b) {
		return json.RawMessage(b), nil
	}
	v, err := DecodeValue(b)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrValue, err)
	}
	return out, nil
}

type valueDecoder struct {
	b  []byte
	at int
	// The packed lists that references may refer to, by their tag's offset: the first
	// without a map (most values have one at most).
	firstAt int
	first   []any
	packed  map[int][]any
}

func (d *valueDecoder) remember(at int, l []any) {
	switch {
	case d.first == nil:
		d.firstAt, d.first = at, l
	case d.packed == nil:
		d.packed = map[int][]any{at: l}
	default:
		d.packed[at] = l
	}
}

func (d *valueDecoder) packedAt(at int) ([]any, bool) {
	if d.first != nil && d.firstAt == at {
		return d.first, true
	}
	l, ok := d.packed[at]
	return l, ok
}

func (d *valueDecoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrValue, d.at, fmt.Sprintf(format, args...))
}

// count reads a uvarint that counts items of at least min bytes each, and checks that
// the rest of the data can hold them, so a corrupt count cannot make the decoder
// allocate more than the data's size.
func (d *valueDecoder) count(min int) (int, error) {
	n, k := binary.Uvarint(d.b[d.at:])
	if k <= 0 {
		return 0, d.errorf("bad length")
	}
	d.at += k
	if n > uint64(len(d.b)-d.at)/uint64(min) {
		return 0, d.errorf("length %d runs past the end", n)
	}
	return int(n), nil
}

func (d *valueDecoder) float() float64 {
	f := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.at:]))
	d.at += 8
	return f
}

// floats decodes n packed floats into a []any. Boxing each float64 into an interface
// allocates it on its own, 768 allocations per embedding; instead the floats go into
// one []float64 and each interface points at its element. Interfaces holding a float64
// are never written through, and the garbage collector keeps the array alive while any
// of them points into it, so this is the value boxing would give, in two allocations.
func (d *valueDecoder) floats(n int) []any {
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = d.float()
	}
	out := make([]any, n)
	typ := (*eface)(unsafe.Pointer(&float64Sample)).typ
	for i := range out {
		*(*eface)(unsafe.Pointer(&out[i])) = eface{typ: typ, data: unsafe.Pointer(&vals[i])}
	}
	return out
}

// eface is the layout of an interface value (runtime.eface).
type eface struct {
	typ, data unsafe.Pointer
}

// float64Sample is a boxed float64, for its type word.
var float64Sample any = float64(1.5)

func (d *valueDecoder) str() (string, error) {
	n, err := d.count(1)
	if err != nil {
		return "", err
	}
	s := string(d.b[d.at : d.at+n])
	d.at += n
	return s, nil
}

func (d *valueDecoder) value(depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, d.errorf("nested deeper than %d", maxValueDepth)
	}
	if d.at >= len(d.b) {
		return nil, d.errorf("unexpected end")
	}
	tag := d.b[d.at]
	d.at++
	switch tag {
	case tagNull:
		return nil, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagFloat:
		if len(d.b)-d.at < 8 {
			return nil, d.errorf("unexpected end")
		}
		return d.float(), nil
	case tagString:
		return d.str()
	case tagFloats:
		at := d.at - 1
		n, err := d.count(8)
		if err != nil {
			return nil, err
		}
		l := d.floats(n)
		if n >= minRefFloats {
			d.remember(at, l)
		}
		return l, nil
	case tagRef:
		at := d.at - 1
		back, k := binary.Uvarint(d.b[d.at:])
		if k <= 0 {
			return nil, d.errorf("bad reference")
		}
		d.at += k
		l, ok := d.packedAt(at - int(min(back, uint64(at))))
		if !ok || back == 0 || back > uint64(at) {
			return nil, d.errorf("reference %d bytes back is not to a list of numbers", back)
		}
		return l, nil
	case tagList:
		n, err := d.count(1)
		if err != nil {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case tagMap:
		n, err := d.count(2)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, n)
		for range n {
			k, err := d.str()
			if err != nil {
				return nil, err
			}
			if out[k], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case tagItems:
		return nil, d.errorf("a for_each step's item outputs by reference, which only the run store puts together")
	}
	return nil, d.errorf("unknown tag %#x", tag)
}
