package tokens

import "math/bits"

// shortVocab maps tokens of at most 8 bytes to their ids in an open-addressed
// table keyed by the token's bytes packed into a uint64. Looking up the
// pre-tokens of prose in the rank map (string hashing, then comparing bytes)
// was two thirds of the fast path's time; nearly all of them are this short.
type shortVocab struct {
	slots []shortSlot // a power of two, at most half full
	shift uint        // 64 - log2(len(slots))
}

type shortSlot struct {
	key uint64 // the token's bytes, little-endian, zero-padded
	id  int32
	n   int32 // the token's length; 0 marks an empty slot
}

func newShortVocab(ranks map[string]int) *shortVocab {
	count := 0
	for tok := range ranks {
		if len(tok) <= 8 {
			count++
		}
	}
	logSize := bits.Len(uint(2*count)) + 1
	v := &shortVocab{slots: make([]shortSlot, 1<<logSize), shift: uint(64 - logSize)}
	for tok, id := range ranks {
		if len(tok) == 0 || len(tok) > 8 {
			continue
		}
		key, n := pack(tok), len(tok)
		mask := uint64(len(v.slots) - 1)
		h := v.hash(key, n)
		for v.slots[h].n != 0 {
			h = (h + 1) & mask
		}
		v.slots[h] = shortSlot{key: key, id: int32(id), n: int32(n)}
	}
	return v
}

func (v *shortVocab) hash(key uint64, n int) uint64 {
	return ((key + uint64(n)) * 0x9e3779b97f4a7c15) >> v.shift
}

// find returns the id of the n-byte token whose packed bytes are key.
func (v *shortVocab) find(key uint64, n int) (int, bool) {
	mask := uint64(len(v.slots) - 1)
	for h := v.hash(key, n); ; h = (h + 1) & mask {
		s := &v.slots[h]
		if s.n == 0 {
			return 0, false
		}
		if s.key == key && int(s.n) == n {
			return int(s.id), true
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
	if t.short != nil && j-i <= 8 && j > i {
		return t.short.find(packAt(s, i, j), j-i)
	}
	id, ok := e.rankTable()[s[i:j]]
	return id, ok
}
