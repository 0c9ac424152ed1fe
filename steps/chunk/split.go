package chunk

import (
	"fmt"
	"math/bits"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aiflow/aiflow/tokens"
)

// Units that Options.Unit accepts.
const (
	UnitTokens = "tokens" // cl100k_base tokens, counted by package tokens
	UnitChars  = "chars"  // Unicode code points (runes)
)

// Options configures Split.
type Options struct {
	// Size is the most units a chunk may hold; at least 1.
	Size int
	// Overlap is the most units of the previous chunk's tail that each chunk
	// after the first repeats; 0 ≤ Overlap < Size.
	Overlap int
	// Unit is UnitTokens (the default when empty) or UnitChars.
	Unit string
	// Separators, when set, replace the default levels (paragraphs, lines,
	// sentences, words) with literal strings tried in order. Each occurrence
	// ends a piece: a separator that starts with non-space text and holds a
	// space (". ", ", ") stays with the text before it up to that space;
	// any other ("\n## ", "---") starts the text after it.
	Separators []string
}

// Chunk is one window of the source text.
type Chunk struct {
	// Text is exactly text[Start:End]: it starts and ends with non-space.
	Text string
	// Index is the chunk's position, from 0.
	Index int
	// Start and End are byte offsets into the source text.
	Start, End int
	// Tokens is the cl100k_base token count of Text, whatever the unit.
	Tokens int
}

// OptionError reports an option, or the text, that Split cannot work with.
type OptionError struct {
	Field   string // "size", "overlap", "unit", "separators[2]" or "text"
	Problem string
}

// Error returns "field: problem".
func (e *OptionError) Error() string { return e.Field + ": " + e.Problem }

// Split cuts text into chunks of at most opts.Size units, in order.
//
// A piece of text that fits in Size is kept whole. One that doesn't is split
// at the first level that cuts it: paragraphs (whitespace holding two or more
// line breaks, or U+2029), then lines, then sentences (after . ! ? or …,
// with any closing quotes or brackets, when whitespace follows; after 。！？
// always), then words (whitespace); each part is split again at the next
// levels if it is still too big. A single word longer than Size is cut at
// token boundaries (unit tokens) or between characters (unit chars), never
// inside a UTF-8 sequence and, where the size allows, never before a
// combining mark, zero-width joiner, emoji modifier or variation selector,
// nor inside a flag. The pieces are then merged greedily: a chunk takes
// pieces while the text from its start to the end of the next one fits.
//
// With Overlap > 0 a chunk after the first starts at the earliest word or
// piece boundary inside the previous chunk whose tail from there is at most
// Overlap units, provided the chunk still fits with the next new piece;
// otherwise it starts at that piece, without overlap.
//
// Chunks never start or end with whitespace; text[c.Start:c.End] == c.Text
// and every non-space character of text is in some chunk. Text that is empty
// or only whitespace gives no chunks. Text that is not valid UTF-8 is an
// error, as are options out of range. Split is deterministic and safe for
// concurrent use.
func Split(text string, opts Options) ([]Chunk, error) {
	s, err := newSplitter(text, opts)
	if err != nil {
		return nil, err
	}
	a, b := trimSpan(text, 0, len(text))
	if a == b {
		return nil, nil
	}
	if s.tokens {
		s.spans = tokens.Spans(text)
	}
	s.atoms = make([]span, 0, (b-a)/128+1) // prose gives an atom every few hundred bytes
	if err := s.atomize(a, b, 0); err != nil {
		return nil, err
	}
	if !s.tokens {
		s.indexAtoms()
	}
	return s.merge(), nil
}

// span is a byte range [start, end) of the text.
type span struct{ start, end int }

// splitter holds one Split call's state. Atoms are the pieces merge packs:
// trimmed, in order, each fitting in size.
type splitter struct {
	text          string
	size, overlap int
	tokens        bool
	levels        []func(a, b int) []span
	spans         []tokens.Span // tokens of the whole text, for estimates
	atoms         []span
	// atomRunes holds, for unit chars, the runes of the text before each
	// atom's start and end: atomRunes[2k] before atoms[k].start,
	// atomRunes[2k+1] before atoms[k].end.
	atomRunes []int
	// onlyLF is set when the text's only line breaks are \n, so atBreaks
	// can look for them with strings.IndexByte.
	onlyLF bool
	// ascii is set when the text is all ASCII, so that runes are bytes.
	ascii bool
}

func newSplitter(text string, o Options) (*splitter, error) {
	if o.Size < 1 {
		return nil, &OptionError{"size", fmt.Sprintf("must be at least 1, got %d", o.Size)}
	}
	if o.Overlap < 0 || o.Overlap >= o.Size {
		return nil, &OptionError{"overlap", fmt.Sprintf("must be at least 0 and less than size (%d), got %d", o.Size, o.Overlap)}
	}
	if o.Unit != "" && o.Unit != UnitTokens && o.Unit != UnitChars {
		return nil, &OptionError{"unit", fmt.Sprintf("unknown unit %q (allowed: tokens, chars)", o.Unit)}
	}
	ascii := isASCII(text)
	if !ascii && !utf8.ValidString(text) {
		return nil, &OptionError{"text", fmt.Sprintf("invalid UTF-8 at byte %d", invalidAt(text))}
	}
	s := &splitter{text: text, size: o.Size, overlap: o.Overlap, tokens: o.Unit != UnitChars, ascii: ascii,
		onlyLF: strings.IndexByte(text, '\r') < 0 && !strings.Contains(text, "\u2028") && !strings.Contains(text, "\u2029")}
	if o.Separators == nil {
		s.levels = []func(a, b int) []span{s.paragraphs, s.lines, s.sentences, s.words}
		return s, nil
	}
	for i, sep := range o.Separators {
		if sep == "" {
			return nil, &OptionError{fmt.Sprintf("separators[%d]", i), "must not be empty"}
		}
		s.levels = append(s.levels, s.literal(sep))
	}
	return s, nil
}

func invalidAt(s string) int {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(s)
}

// atomize appends to s.atoms the pieces of the trimmed range [a, b), split
// from the given level on until each fits.
func (s *splitter) atomize(a, b, level int) error {
	if s.fits(a, b) {
		s.atoms = append(s.atoms, span{a, b})
		return nil
	}
	for ; level < len(s.levels); level++ {
		pieces := s.levels[level](a, b)
		if len(pieces) < 2 {
			continue
		}
		for _, p := range pieces {
			if err := s.atomize(p.start, p.end, level+1); err != nil {
				return err
			}
		}
		return nil
	}
	if pieces := s.words(a, b); len(pieces) > 1 { // custom separators may leave spaces
		for _, p := range pieces {
			if err := s.atomize(p.start, p.end, len(s.levels)); err != nil {
				return err
			}
		}
		return nil
	}
	return s.cutWord(a, b)
}

// fits reports whether text[a:b] holds at most size units, counting exactly.
func (s *splitter) fits(a, b int) bool {
	if b-a <= s.size { // a token or a rune takes at least one byte
		return true
	}
	if !s.tokens { // a rune takes at most utf8.UTFMax bytes
		return b-a <= utf8.UTFMax*s.size && s.runes(a, b) <= s.size
	}
	if s.estimate(a, b) > 2*s.size+16 { // far too big: skip the exact count
		return false
	}
	return s.measure(a, b) <= s.size
}

// measure returns the exact number of units in text[a:b].
//
// For tokens it counts only the ends of the range: where counts add up
// (tokens.Boundary) at m1 and m2, a ≤ m1 ≤ m2 ≤ b, the whole text's tokens
// split there too, so the tokens of text[m1:m2] are the whole text's tokens
// that start in it, which s.spans already holds. Extending a chunk atom by
// atom then costs a few words each instead of recounting the chunk.
func (s *splitter) measure(a, b int) int {
	if !s.tokens {
		return s.estimate(a, b)
	}
	m1 := a + 1
	for m1 < b && m1 < a+boundaryReach && !tokens.Boundary(s.text, m1) {
		m1++
	}
	m2 := b
	for m2 > m1 && m2 > b-boundaryReach && !tokens.Boundary(s.text, m2) {
		m2--
	}
	if m1 >= b || !tokens.Boundary(s.text, m1) || !tokens.Boundary(s.text, m2) {
		return tokens.Count(s.text[a:b])
	}
	return tokens.Count(s.text[a:m1]) + s.estimate(m1, m2) + tokens.Count(s.text[m2:b])
}

// boundaryReach bounds how far measure looks for a tokens.Boundary from each
// end of its range before it counts the range whole.
const boundaryReach = 64

// estimate returns the units in text[a:b]: exact for chars; for tokens, the
// tokens of the whole text that start in the range, which differs from
// counting the range alone only near its ends.
func (s *splitter) estimate(a, b int) int { return s.unitsBefore(b) - s.unitsBefore(a) }

// unitsBefore returns the units of text[:x]. For unit chars it needs
// atomRunes, so it only serves merging, and counts from the nearest atom
// boundary at or before x.
func (s *splitter) unitsBefore(x int) int {
	if s.tokens {
		return sort.Search(len(s.spans), func(i int) bool { return s.spans[i].Start >= x })
	}
	k := sort.Search(len(s.atoms), func(k int) bool { return s.atoms[k].start > x }) - 1
	if k < 0 {
		return s.runes(0, x)
	}
	from, units := s.atoms[k].start, s.atomRunes[2*k]
	if x >= s.atoms[k].end {
		from, units = s.atoms[k].end, s.atomRunes[2*k+1]
	}
	return units + s.runes(from, x)
}

// indexAtoms fills atomRunes, in one pass over the text.
func (s *splitter) indexAtoms() {
	s.atomRunes = make([]int, 2*len(s.atoms))
	at, runes := 0, 0
	for k, a := range s.atoms {
		runes += s.runes(at, a.start)
		s.atomRunes[2*k] = runes
		runes += s.runes(a.start, a.end)
		s.atomRunes[2*k+1] = runes
		at = a.end
	}
}

// runes returns the number of runes in text[a:b].
func (s *splitter) runes(a, b int) int {
	if s.ascii {
		return b - a
	}
	return runeStarts(s.text[a:b])
}

// isASCII reports whether s is all ASCII, 32 bytes at a time.
func isASCII(s string) bool {
	i, acc := 0, uint64(0)
	for ; i+32 <= len(s); i += 32 {
		t := s[i : i+32]
		for k := 0; k < 32; k += 8 {
			acc |= uint64(t[k]) | uint64(t[k+1])<<8 | uint64(t[k+2])<<16 | uint64(t[k+3])<<24 |
				uint64(t[k+4])<<32 | uint64(t[k+5])<<40 | uint64(t[k+6])<<48 | uint64(t[k+7])<<56
		}
		if acc&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// runeStarts counts the bytes of s that start a rune, so it counts the runes
// of any byte range of valid UTF-8, whether or not the range is aligned.
func runeStarts(s string) int {
	cont := 0 // continuation bytes, 10xxxxxx, counted eight at a time
	i := 0
	for ; i+8 <= len(s); i += 8 {
		t := s[i : i+8]
		w := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
		cont += bits.OnesCount64(w &^ (w << 1) & 0x8080808080808080)
	}
	for ; i < len(s); i++ {
		if !utf8.RuneStart(s[i]) {
			cont++
		}
	}
	return len(s) - cont
}

// Levels. Each returns the trimmed, non-empty pieces of the trimmed range
// [a, b); together they hold all of its non-space text.

func (s *splitter) paragraphs(a, b int) []span {
	return s.atBreaks(a, b, func(gap string) bool { return lineBreaks(gap) >= 2 || strings.Contains(gap, "\u2029") })
}

// lineBreaks counts \n, \r and \r\n, and U+2028, as one line break each.
func lineBreaks(gap string) int {
	n := 0
	for i := 0; i < len(gap); i++ { // gaps are short and nearly always ASCII
		switch c := gap[i]; {
		case c == '\n':
			n++
		case c == '\r':
			if i+1 < len(gap) && gap[i+1] == '\n' {
				i++
			}
			n++
		case c >= utf8.RuneSelf:
			goto slow
		}
	}
	return n
slow:
	return strings.Count(gap, "\n") + strings.Count(gap, "\r") - strings.Count(gap, "\r\n") + strings.Count(gap, "\u2028")
}

func (s *splitter) lines(a, b int) []span {
	return s.atBreaks(a, b, func(string) bool { return true })
}

// words cuts the trimmed range [a, b) at each whitespace run.
func (s *splitter) words(a, b int) []span {
	var pieces []span
	start := a
	for i := a; i < b; {
		c := s.text[i]
		if c < utf8.RuneSelf && !asciiSpace[c] {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s.text[i:])
		if !unicode.IsSpace(r) {
			i += n
			continue
		}
		end := spaceEnd(s.text, i, b)
		pieces = append(pieces, span{start, i})
		start, i = end, end
	}
	return append(pieces, span{start, b})
}

// asciiSpace marks the ASCII bytes unicode.IsSpace accepts.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// atBreaks cuts the trimmed range [a, b) at each whitespace run that holds a
// line break (\n, \r, U+2028 or U+2029) and that cut accepts. It looks only
// at the bytes that may start a line break, then widens each to its run:
// a run can only begin after the previous one ends, and a range never
// starts with whitespace.
func (s *splitter) atBreaks(a, b int, cut func(gap string) bool) []span {
	var pieces []span
	start := a
	for i := a; i < b; i++ {
		if s.onlyLF {
			k := strings.IndexByte(s.text[i:b], '\n')
			if k < 0 {
				break
			}
			i += k
		}
		switch c := s.text[i]; {
		case c == '\n' || c == '\r':
		case c == 0xe2 && (strings.HasPrefix(s.text[i:b], "\u2028") || strings.HasPrefix(s.text[i:b], "\u2029")):
		default:
			continue
		}
		gs := i
		for gs > start {
			if c := s.text[gs-1]; c < utf8.RuneSelf {
				if !asciiSpace[c] {
					break
				}
				gs--
				continue
			}
			r, n := utf8.DecodeLastRuneInString(s.text[start:gs])
			if !unicode.IsSpace(r) {
				break
			}
			gs -= n
		}
		ge := spaceEnd(s.text, i, b)
		if cut(s.text[gs:ge]) {
			pieces = append(pieces, span{start, gs})
			start = ge
		}
		i = ge - 1
	}
	return append(pieces, span{start, b})
}

// sentences cuts after terminal punctuation (and closing quotes or brackets)
// followed by whitespace, and after ideographic terminals followed by
// anything.
func (s *splitter) sentences(a, b int) []span {
	var cuts []int
	for i := a; i < b; {
		if c := s.text[i]; c < utf8.RuneSelf && c != '.' && c != '!' && c != '?' {
			i++ // not a terminal: skip it without decoding
			continue
		}
		r, n := utf8.DecodeRuneInString(s.text[i:])
		i += n
		if !strings.ContainsRune(".!?…。！？｡", r) {
			continue
		}
		end := i
		for end < b {
			c, m := utf8.DecodeRuneInString(s.text[end:])
			if !strings.ContainsRune(".!?…。！？｡\"')]}”’»」』）", c) {
				break
			}
			end += m
		}
		next, _ := utf8.DecodeRuneInString(s.text[end:b])
		if end < b && (unicode.IsSpace(next) || strings.ContainsRune("。！？｡", r)) {
			cuts = append(cuts, end)
		}
		i = end
	}
	return s.atCuts(a, b, cuts)
}

// literal returns a level that cuts at each occurrence of sep.
func (s *splitter) literal(sep string) func(a, b int) []span {
	lead := 0 // bytes of sep that stay with the text before it
	if sp := strings.IndexFunc(sep, unicode.IsSpace); sp > 0 {
		lead = sp
	}
	return func(a, b int) []span {
		var cuts []int
		for i := a; i < b; {
			j := strings.Index(s.text[i:b], sep)
			if j < 0 {
				break
			}
			cuts = append(cuts, i+j+lead)
			i += j + len(sep)
		}
		return s.atCuts(a, b, cuts)
	}
}

// atCuts splits [a, b) at the given increasing offsets, trimming each piece
// and dropping empty ones.
func (s *splitter) atCuts(a, b int, cuts []int) []span {
	var pieces []span
	start := a
	for _, c := range append(cuts, b) {
		if p, q := trimSpan(s.text, start, c); p < q {
			pieces = append(pieces, span{p, q})
		}
		start = c
	}
	return pieces
}

// cutWord splits a word [a, b) too big for one chunk into atoms: at token
// boundaries that are also grapheme boundaries (unit tokens) or at grapheme
// boundaries (unit chars); a part still too big is cut at graphemes, then
// runes.
func (s *splitter) cutWord(a, b int) error {
	cuts := graphemeCuts(s.text, a, b)
	if s.tokens {
		cuts = s.tokenCuts(cuts)
	}
	for i, start := 0, a; i <= len(cuts); i++ {
		end := b
		if i < len(cuts) {
			end = cuts[i]
		}
		if err := s.cutPart(start, end); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// cutPart adds [a, b) as an atom, or its graphemes, or its runes.
func (s *splitter) cutPart(a, b int) error {
	if s.fits(a, b) {
		s.atoms = append(s.atoms, span{a, b})
		return nil
	}
	g := graphemeCuts(s.text, a, b)
	if len(g) == 0 { // one grapheme: cut between its runes
		for i := a; i < b; {
			_, n := utf8.DecodeRuneInString(s.text[i:])
			if !s.fits(i, i+n) {
				return &OptionError{"size", fmt.Sprintf("%d tokens cannot hold %q at byte %d, which alone is %d tokens; use a size of at least 4",
					s.size, s.text[i:i+n], i, s.measure(i, i+n))}
			}
			s.atoms = append(s.atoms, span{i, i + n})
			i += n
		}
		return nil
	}
	for i, start := 0, a; i <= len(g); i++ {
		end := b
		if i < len(g) {
			end = g[i]
		}
		if err := s.cutPart(start, end); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// tokenCuts keeps the cuts at which a token of the whole text starts.
func (s *splitter) tokenCuts(cuts []int) []int {
	kept := cuts[:0]
	for _, c := range cuts {
		i := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].Start >= c })
		if i < len(s.spans) && s.spans[i].Start == c {
			kept = append(kept, c)
		}
	}
	return kept
}

// graphemeCuts returns the offsets inside (a, b) between user-perceived
// characters, approximating Unicode extended grapheme clusters: no cut before
// a mark, a zero-width joiner, an emoji modifier, a variation selector or a
// tag, none after a joiner, and regional indicators paired into flags.
func graphemeCuts(text string, a, b int) []int {
	var cuts []int
	prev, flags := rune(-1), 0
	for i := a; i < b; {
		r, n := utf8.DecodeRuneInString(text[i:])
		if isRegional(r) {
			flags++
		} else {
			flags = 0
		}
		if i > a && !extends(r) && prev != '\u200d' && (!isRegional(r) || flags%2 == 1) {
			cuts = append(cuts, i)
		}
		prev = r
		i += n
	}
	return cuts
}

func extends(r rune) bool {
	return unicode.Is(unicode.M, r) || r == '\u200d' || (r >= 0x1f3fb && r <= 0x1f3ff) ||
		(r >= 0xfe00 && r <= 0xfe0f) || (r >= 0xe0020 && r <= 0xe007f)
}

func isRegional(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff }

// merge packs the atoms into chunks.
func (s *splitter) merge() []Chunk {
	// About one chunk per size units, and at most one per atom: room for
	// twice that many, so that appends rarely copy.
	units := len(s.spans)
	if !s.tokens {
		units = s.atomRunes[len(s.atomRunes)-1]
	}
	chunks := make([]Chunk, 0, min(len(s.atoms), 2*units/s.size+1))
	start := s.atoms[0].start
	for i := 0; i < len(s.atoms); {
		j, n := s.extend(start, i)
		end := s.atoms[j].end
		if !s.tokens {
			n = tokens.Count(s.text[start:end])
		}
		chunks = append(chunks, Chunk{Text: s.text[start:end], Index: len(chunks), Start: start, End: end, Tokens: n})
		i = j + 1
		if i < len(s.atoms) {
			start = s.overlapStart(start, end, i)
		}
	}
	return chunks
}

// extend returns the last atom j ≥ i such that text[start:atoms[j].end]
// fits, and for unit tokens its token count. text[start:atoms[i].end] must
// fit.
func (s *splitter) extend(start, i int) (j, count int) {
	j = i
	if !s.tokens { // exact, and atomRunes has the atoms' ends
		base := s.atomRunes[2*i] // start is atoms[i].start unless the chunk overlaps
		if start != s.atoms[i].start {
			base = s.unitsBefore(start)
		}
		limit := base + s.size
		for j+1 < len(s.atoms) && s.atomRunes[2*(j+1)+1] <= limit {
			j++
		}
		return j, 0
	}
	for j+1 < len(s.atoms) && s.estimate(start, s.atoms[j+1].end) <= s.size {
		j++
	}
	// The estimate can be off by a few tokens near the ends: settle exactly.
	count = s.measure(start, s.atoms[j].end)
	for j > i && count > s.size {
		j--
		count = s.measure(start, s.atoms[j].end)
	}
	for j+1 < len(s.atoms) && count <= s.size {
		next := s.measure(start, s.atoms[j+1].end)
		if next > s.size {
			break
		}
		j, count = j+1, next
	}
	return j, count
}

// overlapStart returns where the chunk after [ps, pe) starts, given that its
// first new atom is i: the earliest candidate p in (ps, pe) — a word start or
// an atom start — with text[p:pe] at most overlap units and text[p:atoms[i].end]
// at most size; atoms[i].start if there is none.
func (s *splitter) overlapStart(ps, pe, i int) int {
	next := s.atoms[i]
	if s.overlap == 0 {
		return next.start
	}
	if !s.tokens {
		return s.overlapStartChars(ps, pe, i)
	}
	slack := 0
	if s.tokens {
		slack = 4 // estimates may be this far off; measure settles it
	}
	var cands []int // right to left
	for p := pe; p > ps; {
		r, n := utf8.DecodeLastRuneInString(s.text[ps:p])
		p -= n
		if p <= ps || s.estimate(p, pe) > s.overlap+slack {
			break
		}
		if prev, _ := utf8.DecodeLastRuneInString(s.text[:p]); !unicode.IsSpace(r) && (unicode.IsSpace(prev) || s.atomStart(p)) {
			cands = append(cands, p)
		}
	}
	for k := len(cands) - 1; k >= 0; k-- {
		p := cands[k]
		if s.estimate(p, next.end) > s.size+slack {
			continue
		}
		if s.measure(p, pe) <= s.overlap && s.measure(p, next.end) <= s.size {
			return p
		}
	}
	return next.start
}

// overlapStartChars is overlapStart for unit chars, where units are exact:
// it counts the runes of the tail as it walks back, and the atoms it passes.
func (s *splitter) overlapStartChars(ps, pe, i int) int {
	next := s.atoms[i]
	rest := s.estimate(pe, next.end)
	type cand struct{ p, units int }
	var cands []cand // right to left
	k := i - 1       // the last atom that starts at or before p
	units := 0       // runes in text[p:pe]
	for p := pe; p > ps; {
		r, n := utf8.DecodeLastRuneInString(s.text[ps:p])
		p -= n
		units++
		if p <= ps || units > s.overlap {
			break
		}
		for k >= 0 && s.atoms[k].start > p {
			k--
		}
		if prev, _ := utf8.DecodeLastRuneInString(s.text[:p]); !unicode.IsSpace(r) && (unicode.IsSpace(prev) || k >= 0 && s.atoms[k].start == p) {
			cands = append(cands, cand{p, units})
		}
	}
	for c := len(cands) - 1; c >= 0; c-- {
		if cands[c].units+rest <= s.size {
			return cands[c].p
		}
	}
	return next.start
}

// atomStart reports whether an atom starts at p.
func (s *splitter) atomStart(p int) bool {
	i := sort.Search(len(s.atoms), func(i int) bool { return s.atoms[i].start >= p })
	return i < len(s.atoms) && s.atoms[i].start == p
}

// trimSpan returns [a, b) without leading and trailing whitespace.
func trimSpan(text string, a, b int) (int, int) {
	for a < b {
		r, n := utf8.DecodeRuneInString(text[a:b])
		if !unicode.IsSpace(r) {
			break
		}
		a += n
	}
	for b > a {
		r, n := utf8.DecodeLastRuneInString(text[a:b])
		if !unicode.IsSpace(r) {
			break
		}
		b -= n
	}
	return a, b
}

// spaceEnd returns the end of the whitespace run starting at i, at most b.
func spaceEnd(text string, i, b int) int {
	for i < b {
		if c := text[i]; c < utf8.RuneSelf {
			if !asciiSpace[c] {
				break
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:b])
		if !unicode.IsSpace(r) {
			break
		}
		i += n
	}
	return i
}
