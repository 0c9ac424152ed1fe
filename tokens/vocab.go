package tokens

import "math/bits"

// shortVocab maps tokens of at most 8 bytes to their ids in an open-addressed
// table of 8-byte keys: the token's bytes, packed little-endian, with the
// length in the top byte when it is under 8. Looking up the pre-tokens of
// prose in the rank map (string hashing, then comparing bytes) was two
// thirds of the fast path's time; nearly all of them are this short, and the
// table is small enough (about 1 MB for cl100k_base) to stay mostly in cache.
type shortVocab struct {
	keys  []uint64 // a power of two of them, 0 for an empty slot
	ids   []int32
	shift uint // 64 - log2(len(keys))
}

// shortKey returns the key of the n-byte token whose packed bytes are packed,
// and whether the table can hold it: an 8-byte token whose last byte is
// below 8 would collide with a shorter one, and is left to the rank map.
func shortKey(packed uint64, n int) (uint64, bool) {
	if n < 8 {
		return packed | uint64(n)<<56, true
	}
	return packed, packed>>56 >= 8
}

func newShortVocab(ranks map[string]int) *shortVocab {
	count := 0
	for tok := range ranks {
		if len(tok) <= 8 {
			count++
		}
	}
	logSize := bits.Len(uint(count + count/2)) // at most two thirds full
	v := &shortVocab{keys: make([]uint64, 1<<logSize), ids: make([]int32, 1<<logSize), shift: uint(64 - logSize)}
	mask := uint64(len(v.keys) - 1)
	for tok, id := range ranks {
		if len(tok) == 0 || len(tok) > 8 {
			continue
		}
		key, ok := shortKey(pack(tok), len(tok))
		if !ok {
			continue
		}
		h := v.hash(key)
		for v.keys[h] != 0 {
			h = (h + 1) & mask
		}
		v.keys[h], v.ids[h] = key, int32(id)
	}
	return v
}

func (v *shortVocab) hash(key uint64) uint64 { return (key * 0x9e3779b97f4a7c15) >> v.shift }

// find returns the id of the token with the given key.
func (v *shortVocab) find(key uint64) (int, bool) {
	mask := uint64(len(v.keys) - 1)
	for h := v.hash(key); ; h = (h + 1) & mask {
		switch v.keys[h] {
		case key:
			return int(v.ids[h]), true
		case 0:
			return 0, false
		}
	}
}

// pack returns the bytes of s, at most 8 of them, as a little-endian uint64.
func pack(s string) uint64 {
	var k uint64
	for i := len(s) - 1; i >= 0; i-- {
		k = k<<8 | uint64(s[i])
	}
	return k
}

// packAt returns s[i:j], at most 8 bytes, packed as pack does, with a single
// load when 8 bytes remain from i.
func packAt(s string, i, j int) uint64 {
	if i+8 > len(s) {
		return pack(s[i:j])
	}
	t := s[i : i+8]
	k := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
		uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
	if n := j - i; n < 8 {
		k &= 1<<(8*n) - 1
	}
	return k
}

// lookup returns the id of the token s[i:j], if it is one.
func (e *Encoder) lookup(s string, i, j int) (int, bool) {
	return e.tables().lookup(e, s, i, j)
}

// lookup returns the id of the token s[i:j] under e, whose tables t are.
func (t *fastTables) lookup(e *Encoder, s string, i, j int) (int, bool) {
	switch n := j - i; {
	case t.short == nil || n == 0 || n > 16:
	case n <= 8:
		if key, ok := shortKey(packAt(s, i, j), n); ok {
			return t.short.find(key)
		}
	default:
		if key, ok := midKey(s, i, j); ok {
			return t.mid.find(key)
		}
	}
	id, ok := e.rankTable()[s[i:j]]
	return id, ok
}

// midVocab is shortVocab for tokens of 9 to 16 bytes, such as " following"
// or " international", which English has plenty of: two words per key, the
// second keyed as shortKey keys the bytes past the eighth.
type midVocab struct {
	keys  [][2]uint64 // the second word is never 0 in a full slot
	ids   []int32
	shift uint
}

// midKey returns the key of the token s[i:j], 8 < j-i ≤ 16, and whether the
// table can hold it.
func midKey(s string, i, j int) ([2]uint64, bool) {
	k1, ok := shortKey(packAt(s, i+8, j), j-i-8)
	return [2]uint64{packAt(s, i, i+8), k1}, ok
}

func newMidVocab(ranks map[string]int) *midVocab {
	count := 0
	for tok := range ranks {
		if len(tok) > 8 && len(tok) <= 16 {
			count++
		}
	}
	logSize := bits.Len(uint(count + count/2))
	v := &midVocab{keys: make([][2]uint64, 1<<logSize), ids: make([]int32, 1<<logSize), shift: uint(64 - logSize)}
	mask := uint64(len(v.keys) - 1)
	for tok, id := range ranks {
		if len(tok) <= 8 || len(tok) > 16 {
			continue
		}
		key, ok := midKey(tok, 0, len(tok))
		if !ok {
			continue
		}
		h := v.hash(key)
		for v.keys[h][1] != 0 {
			h = (h + 1) & mask
		}
		v.keys[h], v.ids[h] = key, int32(id)
	}
	return v
}

func (v *midVocab) hash(key [2]uint64) uint64 {
	return ((key[0]^key[1]*0xbf58476d1ce4e5b9)*0x9e3779b97f4a7c15 + key[1]) >> v.shift
}

// find returns the id of the token with the given key.
func (v *midVocab) find(key [2]uint64) (int, bool) {
	mask := uint64(len(v.keys) - 1)
	for h := v.hash(key); ; h = (h + 1) & mask {
		k := v.keys[h]
		if k == key {
			return int(v.ids[h]), true
		}
		if k[1] == 0 {
			return 0, false
		}
	}
}
