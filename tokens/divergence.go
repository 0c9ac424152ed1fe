package tokens

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// The library's generated pre-token matchers differ from tiktoken in two
// ways, both checked against tiktoken in testdata/golden.json:
//
//   - `\s*[\r\n]+` (cl100k_base, o200k_base). On a whitespace run such as
//     " \n \n" tiktoken backtracks \s* to the last line break and takes the
//     run as one pre-token; the generated matcher backtracks to the first, so
//     it yields one pre-token per group of line breaks (other counts) and
//     rescans the rest of the run for each (quadratic time).
//   - U+007F DELETE (all encodings) is left out of [^\s\p{L}\p{N}], so it
//     matches no alternative and is silently dropped.
//
// parts cuts those pre-tokens out for bytePairEncode and gives the library
// the text between, cut only at pre-token boundaries, so that the library
// tokenizes it exactly as tiktoken does.

const del = 0x7f

// parts calls fn for consecutive byte ranges that tile s. Ranges with own set
// are single pre-tokens for bytePairEncode; the others go to the library.
func (e *Encoder) parts(s string, fn func(start, end int, own bool)) {
	last := 0
	emit := func(p, q int) {
		if p < last { // already covered by an earlier pre-token
			return
		}
		if p > last {
			fn(last, p, false)
		}
		fn(p, q, true)
		last = q
	}
	for a := 0; a < len(s); {
		b := spaceEnd(s, a)
		if b > a {
			if p, q, ok := e.newlineRun(s, a, b); ok {
				emit(p, q)
			}
		} else {
			b = wordEnd(s, a)
			if strings.IndexByte(s[a:b], del) >= 0 {
				e.deletePieces(s, a, b, emit)
			}
		}
		a = b
	}
	if last < len(s) {
		fn(last, len(s), false)
	}
}

// newlineRun reports the pre-token [p, q) that tiktoken's `\s*[\r\n]+` takes
// from the maximal whitespace run [a, b) when the library would split it:
// when the run, after any line breaks the previous pre-token absorbed, still
// holds two or more groups of line breaks.
func (e *Encoder) newlineRun(s string, a, b int) (p, q int, ok bool) {
	if !e.newlineRuns {
		return 0, 0, false
	}
	p = a
	if e.absorbs(s, a) {
		p = newlinesEnd(s, a)
	}
	groups, last := 0, -1
	for i := p; i < b; i++ {
		if !isNewline(s[i]) {
			continue
		}
		if i == p || !isNewline(s[i-1]) {
			groups++
		}
		last = i
	}
	if groups < 2 {
		return 0, 0, false
	}
	return p, last + 1, true
}

// absorbs reports whether the pre-token ending at a, the start of a
// whitespace run, takes the line breaks that open the run: the punctuation
// alternative ` ?[^\s\p{L}\p{N}]+[\r\n]*` does, the letter and digit ones
// don't.
func (e *Encoder) absorbs(s string, a int) bool {
	if a == 0 || !isNewline(s[a]) {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:a])
	switch {
	case unicode.IsLetter(r) || unicode.IsNumber(r):
		return false
	case e.o200kRules && unicode.Is(unicode.M, r):
		// o200k_base lets a mark end a letter pre-token or a punctuation
		// one, depending on where the pre-token began.
		return !e.boundaryAt(s, a)
	default:
		return true
	}
}

// boundaryAt reports whether tiktoken ends a pre-token at a, the end of a
// word (a maximal run of non-space runes).
func (e *Encoder) boundaryAt(s string, a int) bool {
	at := false
	e.interpret(s, wordStart(s, a), e.absorbedEnd(s, a), func(p, q int) bool {
		at = q == a
		return q < a
	})
	return at
}

// deletePieces calls emit, in order, for tiktoken's pre-tokens from the
// whitespace run before the word [a, b) up to the last pre-token holding a
// U+007F. Starting in the run keeps the library from seeing text that ends in
// whitespace, where `\s+(?!\S)` would match differently; the run's own
// line breaks are left to the library or newlineRun.
func (e *Encoder) deletePieces(s string, a, b int, emit func(p, q int)) {
	r := a
	for r > 0 {
		c, n := utf8.DecodeLastRuneInString(s[:r])
		if !unicode.IsSpace(c) {
			break
		}
		r -= n
	}
	from := r // pre-tokens from here on are emitted
	if e.newlineRuns {
		if nl := strings.LastIndexAny(s[r:a], "\r\n"); nl >= 0 {
			from = -(r + nl + 1) // set to the end of the pre-token holding it
		}
	}
	var pieces [][2]int
	keep := 0
	e.interpret(s, a, e.absorbedEnd(s, b), func(p, q int) bool {
		switch {
		case from < 0 && q >= -from:
			from = q
		case from >= 0 && p >= from:
			pieces = append(pieces, [2]int{p, q})
			if strings.IndexByte(s[p:q], del) >= 0 {
				keep = len(pieces)
			}
		}
		return q < b
	})
	for _, pc := range pieces[:keep] {
		emit(pc[0], pc[1])
	}
}

// interpret runs tiktoken's pattern with regexp2's interpreter from a point
// before the word starting at a up to end, and calls fn with the byte range
// of each pre-token until fn returns false. Pre-tokens that end after the
// whitespace run before the word are tiktoken's.
func (e *Encoder) interpret(s string, a, end int, fn func(p, q int) bool) {
	w := e.certainStart(s, a)
	window := s[w:end]
	pos := runeOffsets{s: window}
	m, err := e.interpreter().FindStringMatch(window)
	for m != nil && err == nil {
		p, q := w+pos.byteAt(m.RuneIndex), w+pos.byteAt(m.RuneIndex+m.RuneLength)
		if !fn(p, q) {
			return
		}
		m, err = e.interpreter().FindNextMatch(m)
	}
}

// maxHops bounds certainStart's walk back; past it the scan starts at 0,
// which is always right but makes such (contrived) inputs quadratic.
const maxHops = 16

// certainStart returns where to start the interpreter so that it finds
// tiktoken's pre-tokens from the word starting at a onwards. That holds at
// the start of the whitespace run before the word: a pre-token can only run
// on into that run by absorbing line breaks, so tiktoken ends one at the
// run's last line break, or at its start if it has none. The exception is
// o200k_base's ` ?[^\s\p{L}\p{N}]+[\r\n/]*`, which can absorb a run made only
// of line breaks and then the slashes that open the word; then the walk goes
// back a word.
func (e *Encoder) certainStart(s string, a int) int {
	for range maxHops {
		r := a
		for r > 0 {
			c, n := utf8.DecodeLastRuneInString(s[:r])
			if !unicode.IsSpace(c) {
				break
			}
			r -= n
		}
		onlyBreaks := r < a && newlinesEnd(s, r) == a
		if r == 0 || !e.o200kRules || !onlyBreaks || a == len(s) || s[a] != '/' {
			return r
		}
		a = wordStart(s, r)
	}
	return 0
}

func (e *Encoder) interpreter() *regexp2.Regexp {
	e.interpOnce.Do(func() {
		// Compile, unlike MustCompile, never picks up the generated matcher.
		re, err := regexp2.Compile(e.pattern, regexp2.None)
		if err != nil {
			panic("tokens: compiling " + e.name + " pattern: " + err.Error()) // constant pattern
		}
		e.interp = re
	})
	return e.interp
}

// runeOffsets converts rune indexes of s, asked in non-decreasing order, to
// byte offsets. Like []rune(s), it counts each invalid byte as one rune.
type runeOffsets struct {
	s          string
	runes, off int
}

func (r *runeOffsets) byteAt(i int) int {
	for r.runes < i && r.off < len(r.s) {
		_, n := utf8.DecodeRuneInString(r.s[r.off:])
		r.off += n
		r.runes++
	}
	return r.off
}

// spaceEnd returns the end of the whitespace run starting at a.
func spaceEnd(s string, a int) int {
	for a < len(s) {
		r, n := utf8.DecodeRuneInString(s[a:])
		if !unicode.IsSpace(r) {
			break
		}
		a += n
	}
	return a
}

// wordEnd returns the end of the run of non-space runes starting at a.
func wordEnd(s string, a int) int {
	for a < len(s) {
		r, n := utf8.DecodeRuneInString(s[a:])
		if unicode.IsSpace(r) {
			break
		}
		a += n
	}
	return a
}

// wordStart returns the start of the run of non-space runes ending at a.
func wordStart(s string, a int) int {
	for a > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:a])
		if unicode.IsSpace(r) {
			break
		}
		a -= n
	}
	return a
}

// absorbedEnd returns how far a punctuation pre-token ending at i can reach:
// over [\r\n]*, or [\r\n/]* for o200k_base.
func (e *Encoder) absorbedEnd(s string, i int) int {
	for i < len(s) && (isNewline(s[i]) || e.o200kRules && s[i] == '/') {
		i++
	}
	return i
}

// newlinesEnd returns the end of the run of \r and \n starting at a.
func newlinesEnd(s string, a int) int {
	for a < len(s) && isNewline(s[a]) {
		a++
	}
	return a
}

func isNewline(c byte) bool { return c == '\n' || c == '\r' }
