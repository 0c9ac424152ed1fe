package tokens

import (
	"math/bits"
	"sync"
	"unicode/utf8"
)

// Counting plain ASCII text under cl100k_base, as fast as the text can be
// scanned.
//
// Counting needs no token ids, only how many tokens each pre-token byte-pair
// encodes to, and English repeats a small working set of pre-tokens (" the",
// " of", ","): some 2,500 distinct ones in a megabyte of prose. tiktoken
// keeps a cache of encoded pieces for that reason. pieceCache is that cache
// for counts: a table from a pre-token of at most 15 bytes to its count,
// private to one goroutine at a time (Count takes one from a sync.Pool), so a
// hit costs a hash and a compare of two words, with no lock, no string
// hashing and no second table for ids. A miss looks the piece up in the
// vocabulary and byte-pair encodes it when it is not a token.
//
// countFast, the loop over pre-tokens, finds the end of the commonest one,
// an optional space or punctuation mark followed by letters, eight bytes at
// a time, and leaves every other pre-token to asciiPreToken.

// pieceCacheBits is log2 of the number of slots of a pieceCache: 8,192
// slots of 16 bytes, 128 KiB, room for prose's working set several times
// over.
const pieceCacheBits = 13

// pieceProbes is how many slots from a piece's own a lookup tries. A slot
// once full is never emptied, so a lookup may stop at the first empty one;
// when all are full a new piece replaces the one in its own slot.
const pieceProbes = 4

// pieceCache memoizes the token counts of short pre-tokens.
type pieceCache struct {
	slots [1<<pieceCacheBits + pieceProbes]pieceSlot
}

// pieceSlot holds one pre-token of n ≤ 15 bytes: k0 is its first 8 bytes,
// packed little-endian as pack does, zero-padded; k1 holds the next 7 so,
// with n in the top 4 bits and the count in the 4 below. An empty slot is
// all zero; a full one has n ≥ 1.
type pieceSlot struct{ k0, k1 uint64 }

// maxCachedPiece is the longest pre-token a pieceCache holds.
const maxCachedPiece = 15

var pieceCaches = sync.Pool{New: func() any { return new(pieceCache) }}

// pieceMasks holds, for each length n ≤ 16, masks of a piece's bytes in the
// two words of its key.
var pieceMasks = func() (m [17][2]uint64) {
	for n := 1; n <= 16; n++ {
		m[n][0] = ^uint64(0) >> (64 - 8*min(n, 8))
		if n > 8 {
			m[n][1] = ^uint64(0) >> (64 - 8*(n-8))
		}
	}
	return m
}()

// load8 returns s[i:i+8] packed little-endian; i+8 ≤ len(s).
func load8(s string, i int) uint64 {
	t := s[i : i+8]
	return uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
		uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
}

// pieceKeys returns the slot keys of s[i:j], 0 < j-i ≤ 15, with k1's count
// bits zero.
func pieceKeys(s string, i, j int) (k0, k1 uint64) {
	n := j - i
	if i+16 <= len(s) {
		m := &pieceMasks[n]
		k0 = load8(s, i) & m[0]
		k1 = load8(s, i+8) & m[1]
	} else {
		k0 = pack(s[i:min(j, i+8)])
		if n > 8 {
			k1 = pack(s[i+8 : j])
		}
	}
	return k0, k1 | uint64(n)<<60
}

// pieceHash returns the slot of a key.
func pieceHash(k0, k1 uint64) uint64 {
	return ((k0 ^ k1>>29) * 0x9e3779b97f4a7c15) >> (64 - pieceCacheBits)
}

// count returns the number of tokens of the pre-token s[i:j] under e.
func (c *pieceCache) count(e *Encoder, tb *fastTables, s string, i, j int) int {
	if j-i == 1 { // byte-level BPE: every byte is a token
		return 1
	}
	if j-i > maxCachedPiece {
		return tb.pieceTokens(e, s[i:j])
	}
	k0, k1 := pieceKeys(s, i, j)
	h := pieceHash(k0, k1)
	for p := h; p < h+pieceProbes; p++ {
		sl := &c.slots[p]
		if sl.k0 == k0 && sl.k1&^(0xf<<56) == k1 {
			return int(sl.k1 >> 56 & 0xf)
		}
		if sl.k1 == 0 {
			h = p
			break
		}
	}
	k := tb.pieceTokens(e, s[i:j])
	c.slots[h] = pieceSlot{k0, k1 | uint64(k)<<56}
	return k
}

// pieceTokens returns the number of tokens pre-token piece encodes to.
func (tb *fastTables) pieceTokens(e *Encoder, piece string) int {
	if _, ok := tb.lookup(e, piece, 0, len(piece)); ok {
		return 1
	}
	n := 0
	if len(piece) > smallPiece {
		e.bytePairEncode(piece, func(int, int) { n++ })
	} else {
		e.smallMerge(piece, func(int, int) { n++ })
	}
	return n
}

// nonLetters returns a word with the high bit set in each byte of w that is
// not an ASCII letter.
func nonLetters(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	t := (w | 0x20*ones) &^ highs               // lower case, high bits dropped
	geA := (t + (0x80-'a')*ones) & highs        // t ≥ 'a'
	gtZ := (t + (0x80-'z'-1)*ones) & highs      // t > 'z'
	return ^(geA &^ gtZ &^ (w & highs)) & highs // not (ASCII and in a..z)
}

// countASCII returns the number of tokens of s under cl100k_base. It does
// the work of regions and fastCount in one pass: it counts pre-tokens with
// the fast path, checking the bytes each one looks at, and when one looks at
// a byte the fast path does not take, it keeps the count up to the last safe
// boundary before that byte (the end of the fast region regions would have
// found) and counts from there to the next safe boundary with the library
// path.
func (e *Encoder) countASCII(s string) int {
	cache := pieceCaches.Get().(*pieceCache)
	defer pieceCaches.Put(cache)
	total := 0
	for pos := 0; pos < len(s); {
		n, bad, safe, safeCount := e.countFast(cache, s, pos)
		if bad == len(s) {
			return total + n
		}
		q := bad + 1 // the first safe boundary after the byte, else the end
		for q < len(s) && !safeBoundary(s, q) {
			q++
		}
		total += safeCount + e.slowCount(s[safe:q])
		pos = q
	}
	return total
}

// countFast counts the tokens of s from pos, which is 0 or a safe boundary,
// with the fast path. When it meets a byte that the fast path does not take
// (see regions), at bad, it returns the last safe boundary at or before the
// pre-token that met it, or pos, and the count up to there; otherwise bad is
// len(s) and n the count to the end.
func (e *Encoder) countFast(cache *pieceCache, s string, pos int) (n, bad, safe, safeCount int) {
	count, tb := 0, e.tables()
	safe = pos
	i := pos
	// While 24 bytes remain, the commonest pre-token, an optional lead
	// byte then letters, is found and looked up inline, with loads of
	// whole words.
	for i+24 <= len(s) {
		w := load8(s, i)
		if byte(w) == ' ' && i > pos && s[i-1] > ' ' && s[i-1] < 0x7f {
			safe, safeCount = i, count
		}
		if k := leadKind[byte(w)]; k == leadLetter || k == leadOther && byteClass[byte(w>>8)] == clsLetter {
			// Letters from i+1 on (s[i+1] is one when s[i] is a lead).
			j := i + 1
			if m := nonLetters(load8(s, j)); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
			} else {
				j = letterEnd(s, j+8)
			}
			if j < len(s) && !fastByte[s[j]] && !fastRune(s, j) {
				return 0, j, safe, safeCount // the letters may go on
			}
			n := j - i
			if n > maxCachedPiece {
				count += tb.pieceTokens(e, s[i:j])
				i = j
				continue
			}
			m := &pieceMasks[n]
			k0, k1 := w&m[0], load8(s, i+8)&m[1]|uint64(n)<<60
			h := pieceHash(k0, k1)
			if sl := &cache.slots[h]; sl.k0 == k0 && sl.k1&^(0xf<<56) == k1 {
				count += int(sl.k1 >> 56 & 0xf)
			} else {
				count += cache.count(e, tb, s, i, j)
			}
			i = j
			continue
		}
		j := asciiPreToken(s, i)
		if x := unfast(s, i, min(j+2, len(s))); x >= 0 {
			return 0, x, safe, safeCount
		}
		count += cache.count(e, tb, s, i, j)
		i = j
	}
	for i < len(s) {
		if s[i] == ' ' && i > pos && s[i-1] > ' ' && s[i-1] < 0x7f {
			safe, safeCount = i, count
		}
		j := asciiPreToken(s, i)
		if x := unfast(s, i, min(j+2, len(s))); x >= 0 {
			return 0, x, safe, safeCount
		}
		count += cache.count(e, tb, s, i, j)
		i = j
	}
	return count, len(s), safe, safeCount
}

// unfast returns the offset of the first character in s[i:j] that the fast
// path does not take, or -1; i is the start of a character. asciiPreToken
// looks at most one byte past the pre-token it returns, so checking up to
// there covers everything it saw.
func unfast(s string, i, j int) int {
	for i < j {
		switch {
		case fastByte[s[i]]:
			i++
		case fastRune(s, i):
			i += 3
		default:
			return i
		}
	}
	return -1
}

// Kinds of the first byte of a pre-token, for countFast.
const (
	leadNone   = iota // digits, \r, \n, the apostrophe, bytes the fast path does not take
	leadLetter        // an ASCII letter
	leadOther         // a byte that leads letters into a pre-token: space, tab, punctuation
)

var leadKind = func() (t [256]uint8) {
	for c := range utf8.RuneSelf {
		switch {
		case byteClass[c] == clsLetter:
			t[c] = leadLetter
		case fastByte[c] && c != '\r' && c != '\n' && c != '\'' && byteClass[c] != clsDigit:
			t[c] = leadOther
		}
	}
	return t
}()

// letterEnd returns the end of the run of ASCII letters in s from j.
func letterEnd(s string, j int) int {
	for j+8 <= len(s) {
		if m := nonLetters(load8(s, j)); m != 0 {
			return j + bits.TrailingZeros64(m)>>3
		}
		j += 8
	}
	for j < len(s) && byteClass[s[j]] == clsLetter {
		j++
	}
	return j
}
