package localindex

import (
	"maps"
	"math"
	"reflect"
)

// pageSlots is the number of vector slots in one contiguous page of the slab. Pages are
// never moved, so growing the store never copies vectors or doubles its footprint.
const (
	pageBits  = 10
	pageSlots = 1 << pageBits
	pageMask  = pageSlots - 1
)

// entry is one vector as logged and applied: values are already normalised for cosine.
type entry struct {
	id, ns, text string
	meta         map[string]any
	norm         float32
	values       []float32
}

// store holds the slots. It is not safe for concurrent use; core guards it.
type store struct {
	dim   int
	pages [][]float32
	norms []float32
	ids   []string
	ns    []string
	text  []string
	meta  []map[string]any
	live  []bool
	free  []uint32 // LIFO
	byID  map[string]uint32
	count int // live slots
	names map[string]string
}

func newStore(dim int) *store {
	return &store{dim: dim, byID: map[string]uint32{}, names: map[string]string{}}
}

// slots is the number of allocated slots, live or free.
func (s *store) slots() int { return len(s.ids) }

// vec returns slot's values; the slice aliases the slab.
func (s *store) vec(slot uint32) []float32 {
	off := int(slot&pageMask) * s.dim
	return s.pages[slot>>pageBits][off : off+s.dim : off+s.dim]
}

// alloc returns a free slot or appends one.
func (s *store) alloc() uint32 {
	if n := len(s.free); n > 0 {
		slot := s.free[n-1]
		s.free = s.free[:n-1]
		return slot
	}
	slot := uint32(len(s.ids))
	if int(slot>>pageBits) == len(s.pages) {
		s.pages = append(s.pages, make([]float32, pageSlots*s.dim))
	}
	s.norms = append(s.norms, 0)
	s.ids = append(s.ids, "")
	s.ns = append(s.ns, "")
	s.text = append(s.text, "")
	s.meta = append(s.meta, nil)
	s.live = append(s.live, false)
	return slot
}

// intern shares namespace strings, of which there are few.
func (s *store) intern(v string) string {
	if v == "" {
		return ""
	}
	if w, ok := s.names[v]; ok {
		return w
	}
	s.names[v] = v
	return v
}

// put inserts or replaces e by id and reports its slot, whether the vector values changed
// and whether the text changed.
func (s *store) put(e *entry) (slot uint32, vecChanged, textChanged bool) {
	slot, exists := s.byID[e.id]
	if !exists {
		slot = s.alloc()
		s.byID[e.id] = slot
		s.ids[slot] = e.id
		s.live[slot] = true
		s.count++
	}
	v := s.vec(slot)
	vecChanged = !exists || !equalBits(v, e.values)
	textChanged = !exists || s.text[slot] != e.text
	copy(v, e.values)
	s.norms[slot] = e.norm
	s.ns[slot] = s.intern(e.ns)
	s.text[slot] = e.text
	s.meta[slot] = e.meta
	return slot, vecChanged, textChanged
}

// holds reports whether e's id is stored with exactly e's values, norm, namespace, text
// and metadata, so writing e would change nothing.
func (s *store) holds(e *entry) bool {
	slot, ok := s.byID[e.id]
	if !ok {
		return false
	}
	return s.ns[slot] == e.ns && s.text[slot] == e.text &&
		math.Float32bits(s.norms[slot]) == math.Float32bits(e.norm) &&
		equalBits(s.vec(slot), e.values) && reflect.DeepEqual(s.meta[slot], e.meta)
}

// remove deletes id and reports its slot. The slot's values stay in place: an HNSW graph
// may still route through them until the slot is reused.
func (s *store) remove(id string) (uint32, bool) {
	slot, ok := s.byID[id]
	if !ok {
		return 0, false
	}
	delete(s.byID, id)
	s.ids[slot], s.ns[slot], s.text[slot], s.meta[slot] = "", "", "", nil
	s.live[slot] = false
	s.free = append(s.free, slot)
	s.count--
	return slot, true
}

// values returns a copy of slot's values as written (cosine vectors are scaled back).
func (s *store) values(slot uint32, cosine bool) []float32 {
	out := append([]float32(nil), s.vec(slot)...)
	if cosine {
		n := s.norms[slot]
		for i := range out {
			out[i] *= n
		}
	}
	return out
}

func equalBits(a, b []float32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// copyMeta deep-copies JSON-shaped metadata so callers cannot alias stored state.
func copyMeta(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := maps.Clone(m)
	for k, v := range out {
		out[k] = copyJSON(v)
	}
	return out
}

func copyJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return copyMeta(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyJSON(e)
		}
		return out
	default:
		return v
	}
}
