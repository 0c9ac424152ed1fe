package tokens

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// A fast path for plain ASCII text under cl100k_base.
//
// The library finds pre-tokens with a regular-expression engine and the
// package patches its divergences from tiktoken (divergence.go); together
// they run at a few MB/s. Most text that gets chunked or counted is plain
// ASCII prose, where cl100k_base's pattern reduces to a handful of byte
// classes. asciiPreToken implements the pattern for those bytes directly,
// and byte-pair encodes each pre-token without allocating; the library path
// still handles everything else.
//
// Text is cut into regions at safe boundaries: a space ' ' right after a
// printable ASCII character other than a space. No alternative of the
// pattern matches across such a point (letter, digit and punctuation runs
// stop at a space; the punctuation alternative absorbs only \r and \n; the
// whitespace alternatives start at whitespace), the pattern has no
// look-behind, and the only look-ahead, `\s+(?!\S)`, looks past a whitespace
// run, which cannot end a region that ends on a printable character. So each
// region is tokenized on its own exactly as it is inside the whole text.
// Regions made only of fast bytes take the fast path; the others go to the
// library path.

// fastByte marks the bytes the fast path handles: printable ASCII, \t, \n
// and \r. Everything else (other controls, U+007F, any byte of a multi-byte
// or invalid sequence) sends its region to the library path.
var fastByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	t['\t'], t['\n'], t['\r'] = true, true, true
	return t
}()

// Byte classes of the fast path, as cl100k_base's pattern sees them.
const (
	clsSpace  = iota // \s: ' ', \t, \n, \r (\v and \f are not fast bytes)
	clsLetter        // \p{L}: A-Z, a-z
	clsDigit         // \p{N}: 0-9
	clsPunct         // [^\s\p{L}\p{N}]: the rest of printable ASCII
)

var byteClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			t[c] = clsSpace
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			t[c] = clsLetter
		case c >= '0' && c <= '9':
			t[c] = clsDigit
		default:
			t[c] = clsPunct
		}
	}
	return t
}()

// safeBoundary reports whether a pre-token boundary of the whole text is
// certain at p: s[p] is a space and s[p-1] printable ASCII other than a
// space.
func safeBoundary(s string, p int) bool {
	return p > 0 && p < len(s) && s[p] == ' ' && s[p-1] > ' ' && s[p-1] < 0x7f
}

// Boundary reports whether counts add up at p in s: for all a < p < b,
// Count(s[a:b]) == Count(s[a:p]) + Count(s[p:b]). It does when s[p] is a
// space that follows a printable ASCII character other than a space: no
// pre-token spans such a point (see the top of this file), in s or in any
// substring of it, under any of the encodings. It may report false where
// counts add up all the same.
func Boundary(s string, p int) bool { return safeBoundary(s, p) }

// regions calls fn for consecutive ranges that tile s, each starting and
// ending at the ends of s or at safe boundaries, with fast set when the
// range holds only fast bytes. It gives everything to the library path
// (one region, fast false) for encodings without a fast path.
func (e *Encoder) regions(s string, fn func(start, end int, fast bool)) {
	if !e.fastASCII {
		if len(s) > 0 {
			fn(0, len(s), false)
		}
		return
	}
	pos := 0
	for pos < len(s) {
		w := pos
		for w < len(s) {
			if w+32 <= len(s) && printable32(s[w:w+32]) {
				w += 32
				continue
			}
			if w+8 <= len(s) && printable8(s[w:w+8]) {
				w += 8
				continue
			}
			if fastByte[s[w]] {
				w++
				continue
			}
			if !fastRune(s, w) {
				break
			}
			w += 3
		}
		if w == len(s) {
			fn(pos, w, true)
			return
		}
		p := w // the last safe boundary at or before w, else pos
		for p > pos && !safeBoundary(s, p) {
			p--
		}
		q := w + 1 // the first safe boundary after w, else the end
		for q < len(s) && !safeBoundary(s, q) {
			q++
		}
		if p > pos {
			fn(pos, p, true)
		}
		fn(p, q, false)
		pos = q
	}
}

// fastRune reports whether s[i:] starts with one of the typographic
// punctuation marks English text is full of, which the fast path also
// takes: ‘ ’ “ ” – — and …, U+2018, U+2019, U+201C, U+201D, U+2013,
// U+2014 and U+2026. They are all punctuation to the pattern, and all their
// bytes have class clsPunct, so a run of punctuation never ends inside one.
func fastRune(s string, i int) bool {
	if i+2 >= len(s) || s[i] != 0xe2 || s[i+1] != 0x80 {
		return false
	}
	switch s[i+2] {
	case 0x93, 0x94, 0x98, 0x99, 0x9c, 0x9d, 0xa6:
		return true
	}
	return false
}

// printable8 reports whether the 8 bytes of t are all printable ASCII,
// 0x20 to 0x7e, testing them at once.
func printable8(t string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	x := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
		uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
	del := x ^ 0x7f*ones
	return x&highs == 0 && // all ASCII
		(x-0x20*ones)&^x&highs == 0 && // none below 0x20
		(del-ones)&^del&highs == 0 // none is 0x7f
}

// printable32 reports whether the 32 bytes of t are all printable ASCII,
// testing them as four words, with one branch.
func printable32(t string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	_ = t[31]
	bad := uint64(0)
	for k := 0; k < 32; k += 8 {
		x := load8(t, k)
		del := x ^ 0x7f*ones
		bad |= x | (x-0x20*ones)&^x | (del-ones)&^del
	}
	return bad&highs == 0
}

// asciiPreToken returns the end of cl100k_base's pre-token that starts at i
// in s, a string of fast bytes and fastRunes in which i < len(s) is the start
// of a character. The alternatives are
// tried in the pattern's order:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,3} |
//	 ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
func asciiPreToken(s string, i int) int {
	n := len(s)
	c := s[i]
	cls := byteClass[c]
	if c == '\'' && i+1 < n { // contractions
		switch s[i+1] | 0x20 {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v':
			if i+2 < n && s[i+2]|0x20 == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < n && s[i+2]|0x20 == 'l' {
				return i + 3
			}
		}
	}
	if c >= utf8.RuneSelf && i+3 < n && byteClass[s[i+3]] == clsLetter { // a fastRune, then letters
		j := i + 3
		for j < n && byteClass[s[j]] == clsLetter {
			j++
		}
		return j
	}
	if cls == clsLetter || c != '\r' && c != '\n' && cls != clsDigit && i+1 < n && byteClass[s[i+1]] == clsLetter {
		j := i + 1
		for j < n && byteClass[s[j]] == clsLetter {
			j++
		}
		return j
	}
	if cls == clsDigit {
		j := i + 1
		for j < n && j < i+3 && byteClass[s[j]] == clsDigit {
			j++
		}
		return j
	}
	k := i
	if c == ' ' && i+1 < n && byteClass[s[i+1]] == clsPunct {
		k++
	}
	if byteClass[s[k]] == clsPunct {
		j := k + 1
		for j < n && byteClass[s[j]] == clsPunct {
			j++
		}
		for j < n && (s[j] == '\r' || s[j] == '\n') {
			j++
		}
		return j
	}
	// Whitespace: the run up to its last line break, else the run less its
	// last character when a non-space follows, else the run.
	j := i + 1
	for j < n && byteClass[s[j]] == clsSpace {
		j++
	}
	for l := j - 1; l >= i; l-- {
		if s[l] == '\n' || s[l] == '\r' {
			return l + 1
		}
	}
	if j < n && j-1 > i {
		return j - 1
	}
	return j
}

// fastTokenize calls yield with the id and byte range of every token of
// s[start:end], a range of fast bytes.
func (e *Encoder) fastTokenize(s string, start, end int, yield func(id, start, end int)) {
	t, tb := s[start:end], e.tables()
	for i := 0; i < len(t); {
		j := asciiPreToken(t, i)
		if id, ok := tb.lookup(e, t, i, j); ok {
			yield(id, start+i, start+j)
		} else {
			at := start + i
			for _, tok := range e.merged(t[i:j]) {
				n := int(tok & 0xff)
				yield(int(tok>>8), at, at+n)
				at += n
			}
		}
		i = j
	}
}

// merged returns the tokens byte-pair encoding gives piece, which is not
// itself a token, each as id<<8 | length, remembering them for short pieces.
// The caller must not modify the result.
func (e *Encoder) merged(piece string) []uint32 {
	if len(piece) > smallPiece {
		var toks []uint32
		e.bytePairEncode(piece, func(id, n int) { toks = append(toks, uint32(id)<<8|uint32(n)) })
		return toks
	}
	c := &e.fast.merges
	c.mu.RLock()
	toks, ok := c.m[piece]
	c.mu.RUnlock()
	if ok {
		return toks
	}
	e.smallMerge(piece, func(id, n int) { toks = append(toks, uint32(id)<<8|uint32(n)) })
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string][]uint32)
	}
	if len(c.m) < maxCachedMerges {
		c.m[strings.Clone(piece)] = toks
	}
	c.mu.Unlock()
	return toks
}

// maxCachedMerges bounds mergeCache: some 64k pieces of at most smallPiece
// bytes, a few megabytes.
const maxCachedMerges = 1 << 16

// mergeCache remembers the tokens that pieces that are not tokens merge
// into. Merging is most of the cost of tokenizing text whose words are not
// all in the vocabulary, and the same words come back again and again.
type mergeCache struct {
	mu sync.RWMutex
	m  map[string][]uint32 // id<<8 | length of each token; ids fit in 24 bits
}
