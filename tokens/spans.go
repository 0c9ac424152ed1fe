package tokens

import "unicode/utf8"

// Span is the byte range [Start, End) of one token in the text it came from.
type Span struct {
	Start, End int
}

// Spans returns the byte range in s of each token of s, in order. The spans
// tile s: the first starts at 0, each starts where the previous one ended, and
// the last ends at len(s); len(e.Spans(s)) == e.Count(s).
//
// A token may end inside a multi-byte character, because BPE tokens are byte
// sequences; callers that cut text at token boundaries must snap to rune
// boundaries themselves. When s is not valid UTF-8 the tokenizer sees U+FFFD
// for each invalid byte; a token covering only part of such a replacement is
// given the whole byte or, if an earlier token already took it, an empty span.
func (e *Encoder) Spans(s string) []Span {
	spans := make([]Span, 0, len(s)/4+1) // English runs about 4 bytes a token
	e.tokenize(s, func(_, start, end int) { spans = append(spans, Span{start, end}) })
	return spans
}

// tokenize calls yield with the id and byte range in s of every token of s.
func (e *Encoder) tokenize(s string, yield func(id, start, end int)) {
	e.regions(s, func(start, end int, fast bool) {
		if fast {
			e.fastTokenize(s, start, end, yield)
			return
		}
		e.slowTokenize(s[start:end], func(id, p, q int) { yield(id, start+p, start+q) })
	})
}

// slowTokenize is tokenize by the library, patched where it differs from
// tiktoken.
func (e *Encoder) slowTokenize(s string, yield func(id, start, end int)) {
	e.parts(s, func(start, end int, own bool) {
		part := s[start:end]
		if own {
			at := start
			e.bytePairEncode(part, func(id, n int) { yield(id, at, at+n); at += n })
			return
		}
		ids, toks, err := e.lib().Encode(part)
		if err != nil {
			e.byteLevel(part, start, yield)
			return
		}
		bounds := tokenEnds(part, toks)
		at := start
		for i, id := range ids {
			yield(int(id), at, start+bounds[i])
			at = start + bounds[i]
		}
	})
}

// byteLevel yields one token per byte of part, which starts at offset start.
// It is the fallback should the library ever report an error; its regex
// engine only does so on match timeouts, which this package never sets.
func (e *Encoder) byteLevel(part string, start int, yield func(id, start, end int)) {
	ranks := e.rankTable()
	for i := range len(part) {
		yield(ranks[part[i:i+1]], start+i, start+i+1)
	}
}

// tokenEnds returns, for each token, the offset in part at which it ends.
// toks are the tokens the library produced for part; they are substrings of
// part unless part holds invalid UTF-8, which the library replaced by U+FFFD.
func tokenEnds(part string, toks []string) []int {
	ends := make([]int, len(toks))
	if utf8.ValidString(part) {
		at := 0
		for i, t := range toks {
			at += len(t)
			ends[i] = at
		}
		return ends
	}
	m := offsetMap{src: part}
	conv := 0
	for i, t := range toks {
		conv += len(t)
		ends[i] = m.toSource(conv)
	}
	return ends
}

// offsetMap converts offsets in string([]rune(src)) to offsets in src. Calls
// must come with non-decreasing offsets.
type offsetMap struct {
	src         string
	srcAt, cvAt int // start of the current rune in src and in the converted text
}

func (m *offsetMap) toSource(conv int) int {
	for m.srcAt < len(m.src) {
		r, n := utf8.DecodeRuneInString(m.src[m.srcAt:])
		cn := utf8.RuneLen(r)
		if r == utf8.RuneError && n == 1 {
			cn = len(string(utf8.RuneError))
		}
		if conv < m.cvAt+cn {
			if conv == m.cvAt {
				return m.srcAt
			}
			if n == cn {
				return m.srcAt + conv - m.cvAt
			}
			return m.srcAt + n // inside a replaced byte: round up
		}
		m.srcAt += n
		m.cvAt += cn
	}
	return len(m.src)
}
