package chunk

import (
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/aiflow/aiflow/tokens"
	"github.com/google/go-cmp/cmp"
)

// want is an expected chunk: its text and byte offsets.
type want struct {
	Text       string
	Start, End int
}

func TestSplitExact(t *testing.T) {
	tests := []struct {
		name string
		text string
		opts Options
		want []want
	}{
		{"fits whole", "Hello world.", Options{Size: 100, Unit: UnitChars}, []want{{"Hello world.", 0, 12}}},
		{"trimmed offsets", "  padded text \n", Options{Size: 100, Unit: UnitChars}, []want{{"padded text", 2, 13}}},
		{"empty", "", Options{Size: 5}, nil},
		{"whitespace only", " \n\t\u3000 ", Options{Size: 5}, nil},
		{"paragraphs", "aaa bbb\n\nccc ddd", Options{Size: 7, Unit: UnitChars},
			[]want{{"aaa bbb", 0, 7}, {"ccc ddd", 9, 16}}},
		{"blank line with spaces is a paragraph break", "aaa bbb\n  \t\nccc", Options{Size: 7, Unit: UnitChars},
			[]want{{"aaa bbb", 0, 7}, {"ccc", 12, 15}}},
		{"lines", "ab cd\nef gh", Options{Size: 6, Unit: UnitChars}, []want{{"ab cd", 0, 5}, {"ef gh", 6, 11}}},
		{"sentences then words", "One two. Three four! Five?", Options{Size: 10, Unit: UnitChars},
			[]want{{"One two.", 0, 8}, {"Three", 9, 14}, {"four!", 15, 20}, {"Five?", 21, 26}}},
		{"closing quote stays with its sentence", `He said "no." Then left.`, Options{Size: 13, Unit: UnitChars},
			[]want{{`He said "no."`, 0, 13}, {"Then left.", 14, 24}}},
		{"decimal point is not a sentence end", "Pi is 3.14 ok", Options{Size: 10, Unit: UnitChars},
			[]want{{"Pi is 3.14", 0, 10}, {"ok", 11, 13}}},
		{"overlap snaps to words", "a b c d e f", Options{Size: 5, Overlap: 2, Unit: UnitChars},
			[]want{{"a b c", 0, 5}, {"c d e", 4, 9}, {"e f", 8, 11}}},
		{"long word cut at characters", "abcdefgh", Options{Size: 3, Unit: UnitChars},
			[]want{{"abc", 0, 3}, {"def", 3, 6}, {"gh", 6, 8}}},
		{"overlap inside a long word", "abcdefgh", Options{Size: 4, Overlap: 1, Unit: UnitChars},
			[]want{{"abcd", 0, 4}, {"defg", 3, 7}, {"gh", 6, 8}}},
		{"combining marks stay with their base", "e\u0301e\u0301", Options{Size: 2, Unit: UnitChars},
			[]want{{"e\u0301", 0, 3}, {"e\u0301", 3, 6}}},
		{"too small for a grapheme: cut between runes", "e\u0301", Options{Size: 1, Unit: UnitChars},
			[]want{{"e", 0, 1}, {"\u0301", 1, 3}}},
		{"ideographic full stop ends a sentence", "日本語です。次の文です。", Options{Size: 6, Unit: UnitChars},
			[]want{{"日本語です。", 0, 18}, {"次の文です。", 18, 36}}},
		{"CJK without punctuation cut at characters", "日本語日本語", Options{Size: 4, Unit: UnitChars},
			[]want{{"日本語日", 0, 12}, {"本語", 12, 18}}},
		{"flags are pairs", "🇫🇷🇩🇪", Options{Size: 2, Unit: UnitChars}, []want{{"🇫🇷", 0, 8}, {"🇩🇪", 8, 16}}},
		{"emoji modifier and ZWJ sequence stay whole", "👍🏽👨\u200d👩", Options{Size: 3, Unit: UnitChars},
			[]want{{"👍🏽", 0, 8}, {"👨\u200d👩", 8, 19}}},
		{"custom separator starts the next piece", "a|b|c", Options{Size: 2, Unit: UnitChars, Separators: []string{"|"}},
			[]want{{"a", 0, 1}, {"|b", 1, 3}, {"|c", 3, 5}}},
		{"custom separator with a space keeps its punctuation", "x. y. z", Options{Size: 3, Unit: UnitChars, Separators: []string{". "}},
			[]want{{"x.", 0, 2}, {"y.", 3, 5}, {"z", 6, 7}}},
		{"custom heading separator", "intro\n## A\ntext a\n## B\ntext b", Options{Size: 12, Unit: UnitChars, Separators: []string{"\n## "}},
			[]want{{"intro", 0, 5}, {"## A\ntext a", 6, 17}, {"## B\ntext b", 18, 29}}},
		{"tokens: words", "one two three four five six", Options{Size: 3},
			[]want{{"one two three", 0, 13}, {"four five six", 14, 27}}},
		{"tokens: overlap", "one two three four five six", Options{Size: 3, Overlap: 1},
			[]want{{"one two three", 0, 13}, {"three four five", 8, 23}, {"five six", 19, 27}}},
		{"tokens: default unit", "Hello world. Bye now.", Options{Size: 4},
			[]want{{"Hello world.", 0, 12}, {"Bye now.", 13, 21}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, err := Split(tt.text, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []want
			for i, c := range chunks {
				got = append(got, want{c.Text, c.Start, c.End})
				if c.Index != i || c.Tokens != tokens.Count(c.Text) {
					t.Errorf("chunk %d has Index %d, Tokens %d (counted %d)", i, c.Index, c.Tokens, tokens.Count(c.Text))
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Split mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplitOptionErrors(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		opts  Options
		field string
		msg   string
	}{
		{"size zero", "x", Options{}, "size", "size: must be at least 1, got 0"},
		{"negative overlap", "x", Options{Size: 5, Overlap: -1}, "overlap", "overlap: must be at least 0 and less than size (5), got -1"},
		{"overlap equal to size", "x", Options{Size: 5, Overlap: 5}, "overlap", "overlap: must be at least 0 and less than size (5), got 5"},
		{"unknown unit", "x", Options{Size: 5, Unit: "words"}, "unit", `unit: unknown unit "words" (allowed: tokens, chars)`},
		{"empty separator", "x", Options{Size: 5, Separators: []string{"\n", ""}}, "separators[1]", "separators[1]: must not be empty"},
		{"invalid UTF-8", "ab\xffcd", Options{Size: 5}, "text", "text: invalid UTF-8 at byte 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Split(tt.text, tt.opts)
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Field != tt.field || err.Error() != tt.msg {
				t.Fatalf("Split error = %v, want %q on field %s", err, tt.msg, tt.field)
			}
		})
	}
}

func TestSplitRuneTooBigForSize(t *testing.T) {
	const r = "𝔘" // a rare character, several byte-level tokens
	need := tokens.Count(r)
	if need < 2 {
		t.Fatalf("%q is %d token; the test needs a multi-token rune", r, need)
	}
	_, err := Split("ab "+r, Options{Size: need - 1})
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Field != "size" || !strings.Contains(err.Error(), "at byte 3") {
		t.Fatalf("Split error = %v, want a size error naming byte 3", err)
	}
	chunks, err := Split("ab "+r, Options{Size: need})
	if err != nil || chunks[len(chunks)-1].Text != r {
		t.Fatalf("Split with size %d = %v, %v; want the rune as the last chunk", need, chunks, err)
	}
}

// fragments build random documents: prose, punctuation, line and paragraph
// breaks, CJK, emoji sequences, combining marks and long unbroken words.
var fragments = []string{
	"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "retrieval", "pipelines",
	" ", " ", " ", " ", "  ", "\t", "\n", "\n\n", "\r\n", " \n \n", ". ", "! ", "? ", ", ", "; ", "...",
	"\"quoted.\" ", "(aside) ", "3.14", "2024", "日本語のテキスト", "。", "、", "！", "中文句子",
	"👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "e\u0301", "n\u0303o", "\u00a0", "\u3000",
	"supercalifragilisticexpialidocious", "https://example.com/a/very/long/path?with=query&and=more",
	strings.Repeat("x", 120), "Ünïcödé", "Ж", "жизнь", "\x7f", "a\u0301\n \n",
	"\u2028", "\u2029", " \u00a0\n", "\u0085", "\n\u2028", "…", "?\" ", ".)\n",
}

func randomDoc(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(fragments[rng.Intn(len(fragments))])
		if rng.Intn(3) == 0 {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// checkChunks asserts every property Split promises for text and opts.
func checkChunks(t *testing.T, text string, opts Options, chunks []Chunk) {
	t.Helper()
	measure := func(s string) int {
		if opts.Unit == UnitChars {
			return utf8.RuneCountInString(s)
		}
		return tokens.Count(s)
	}
	var covered strings.Builder
	prevEnd := 0
	for i, c := range chunks {
		switch {
		case c.Index != i:
			t.Fatalf("chunk %d has Index %d", i, c.Index)
		case c.Start < 0 || c.End > len(text) || c.Start >= c.End || text[c.Start:c.End] != c.Text:
			t.Fatalf("chunk %d [%d,%d) is not text[Start:End]: %q", i, c.Start, c.End, c.Text)
		case !utf8.ValidString(c.Text) || !utf8.RuneStart(text[c.Start]) || c.End < len(text) && !utf8.RuneStart(text[c.End]):
			t.Fatalf("chunk %d [%d,%d) cuts a rune", i, c.Start, c.End)
		case strings.TrimSpace(c.Text) != c.Text || strings.TrimFunc(c.Text, unicode.IsSpace) != c.Text:
			t.Fatalf("chunk %d %q starts or ends with whitespace", i, c.Text)
		case measure(c.Text) > opts.Size:
			t.Fatalf("chunk %d %q has %d units, size is %d", i, c.Text, measure(c.Text), opts.Size)
		case c.Tokens != tokens.Count(c.Text):
			t.Fatalf("chunk %d Tokens = %d, counted %d", i, c.Tokens, tokens.Count(c.Text))
		}
		if i > 0 {
			prev := chunks[i-1]
			if c.Start <= prev.Start || c.End <= prev.End {
				t.Fatalf("chunk %d [%d,%d) does not move past chunk %d [%d,%d)", i, c.Start, c.End, i-1, prev.Start, prev.End)
			}
			if c.Start < prev.End && measure(text[c.Start:prev.End]) > opts.Overlap {
				t.Fatalf("chunk %d repeats %q, more than overlap %d", i, text[c.Start:prev.End], opts.Overlap)
			}
		}
		from := max(c.Start, prevEnd)
		if strings.TrimFunc(text[prevEnd:max(prevEnd, c.Start)], unicode.IsSpace) != "" {
			t.Fatalf("text between chunks %d and %d is not whitespace: %q", i-1, i, text[prevEnd:c.Start])
		}
		covered.WriteString(text[from:c.End])
		prevEnd = c.End
	}
	if strings.TrimFunc(text[prevEnd:], unicode.IsSpace) != "" {
		t.Fatalf("text after the last chunk is not whitespace: %q", text[prevEnd:])
	}
	if got := covered.String(); stripSpace(got) != stripSpace(text) {
		t.Fatalf("chunks without their overlaps do not reproduce the text:\n got %q\nwant %q", got, text)
	}
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func TestSplitProperties(t *testing.T) {
	configs := []Options{
		{Size: 1, Unit: UnitChars}, {Size: 7, Overlap: 3, Unit: UnitChars}, {Size: 40, Overlap: 10, Unit: UnitChars},
		{Size: 200, Overlap: 50, Unit: UnitChars},
		{Size: 4}, {Size: 9, Overlap: 4}, {Size: 32, Overlap: 8}, {Size: 128, Overlap: 31},
		{Size: 16, Overlap: 5, Separators: []string{"\n\n", ". ", " "}},
		{Size: 12, Overlap: 0, Unit: UnitChars, Separators: []string{"|", ","}},
	}
	for _, opts := range configs {
		rng := rand.New(rand.NewSource(int64(opts.Size*1000 + opts.Overlap)))
		t.Run(optsName(opts), func(t *testing.T) {
			for range 60 {
				text := randomDoc(rng, 1+rng.Intn(120))
				chunks, err := Split(text, opts)
				if err != nil {
					t.Fatalf("Split(%q): %v", text, err)
				}
				checkChunks(t, text, opts, chunks)
				again, _ := Split(text, opts)
				if diff := cmp.Diff(chunks, again); diff != "" {
					t.Fatalf("Split is not deterministic:\n%s", diff)
				}
				if opts.Size >= 40 {
					checkGraphemes(t, chunks)
				}
			}
		})
	}
}

// checkGraphemes asserts that no chunk edge falls inside the fragments'
// grapheme clusters, which sizes of 40 or more always hold whole.
func checkGraphemes(t *testing.T, chunks []Chunk) {
	t.Helper()
	for i, c := range chunks {
		first, _ := utf8.DecodeRuneInString(c.Text)
		last, _ := utf8.DecodeLastRuneInString(c.Text)
		if extends(first) || last == '\u200d' {
			t.Fatalf("chunk %d %q cuts a grapheme cluster", i, c.Text)
		}
	}
}

func optsName(o Options) string {
	unit := o.Unit
	if unit == "" {
		unit = UnitTokens
	}
	name := fmt.Sprintf("%s/size%d/overlap%d", unit, o.Size, o.Overlap)
	if o.Separators != nil {
		name += "/custom"
	}
	return name
}

func FuzzSplit(f *testing.F) {
	f.Add("Hello world. This is a test.\n\nNew paragraph!", uint16(5), uint16(2), false)
	f.Add("日本語のテキスト。👨\u200d👩\u200d👧 e\u0301", uint16(3), uint16(1), true)
	f.Add(strings.Repeat("x", 300), uint16(7), uint16(6), false)
	f.Add(" \n \n\t", uint16(1), uint16(0), true)
	f.Fuzz(func(t *testing.T, text string, size, overlap uint16, chars bool) {
		opts := Options{Size: 1 + int(size%64)}
		opts.Overlap = int(overlap) % opts.Size
		if chars {
			opts.Unit = UnitChars
		}
		chunks, err := Split(text, opts)
		if err != nil {
			var oe *OptionError
			if !errors.As(err, &oe) || !(oe.Field == "text" && !utf8.ValidString(text) || oe.Field == "size" && !chars && opts.Size < 4) {
				t.Fatalf("Split(%q, %+v): unexpected error %v", text, opts, err)
			}
			return
		}
		checkChunks(t, text, opts, chunks)
	})
}

func benchmarkSplit(b *testing.B, opts Options) {
	rng := rand.New(rand.NewSource(2))
	var sb strings.Builder
	for sb.Len() < 1<<20 {
		sb.WriteString(prose(rng))
	}
	text := sb.String()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Split(text, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// prose returns one paragraph of English-like text.
func prose(rng *rand.Rand) string {
	words := strings.Fields("the quick brown fox jumps over a lazy dog while seven tired engineers measure " +
		"throughput latency and cost of retrieval augmented generation pipelines in production systems")
	var b strings.Builder
	for s := 0; s < 3+rng.Intn(6); s++ {
		for w := 0; w < 5+rng.Intn(20); w++ {
			if w > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rng.Intn(len(words))])
		}
		b.WriteString(". ")
	}
	b.WriteString("\n\n")
	return b.String()
}

func BenchmarkSplit1MBTokens(b *testing.B) { benchmarkSplit(b, Options{Size: 400, Overlap: 40}) }
func BenchmarkSplit1MBChars(b *testing.B) {
	benchmarkSplit(b, Options{Size: 1600, Overlap: 160, Unit: UnitChars})
}

// benchmarkEnglish splits 10 MB of English (englishCorpus), the load
// `go run ./bench chunk` compares with langchaingo's text splitters.
func benchmarkEnglish(b *testing.B, opts Options, reflow bool) {
	text := englishCorpus(b, 10<<20, reflow)
	tokens.Count("warm up") // build the vocabulary outside the timer
	b.SetBytes(int64(len(text)))
	start := cpuTime()
	for b.Loop() {
		if _, err := Split(text, opts); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start, len(text))
}

func BenchmarkSplit10MBEnglishChars(b *testing.B) {
	b.Run("as-written", func(b *testing.B) { benchmarkEnglish(b, Options{Size: 1000, Unit: UnitChars}, false) })
	b.Run("reflowed", func(b *testing.B) { benchmarkEnglish(b, Options{Size: 1000, Unit: UnitChars}, true) })
}

func BenchmarkSplit10MBEnglishTokens(b *testing.B) {
	b.Run("as-written", func(b *testing.B) { benchmarkEnglish(b, Options{Size: 400}, false) })
	b.Run("reflowed", func(b *testing.B) { benchmarkEnglish(b, Options{Size: 400}, true) })
}

// TestMeasureExact checks that measure, which counts tokens only at the ends
// of a range and takes the middle from the whole text's tokens, agrees with
// counting the range alone.
func TestMeasureExact(t *testing.T) {
	rng := rand.New(rand.NewSource(24))
	for range 300 {
		text := randomDoc(rng, 1+rng.Intn(200))
		if rng.Intn(2) == 0 {
			text = englishCorpus(t, 1, false)[:1+rng.Intn(5000)] + text
		}
		s, err := newSplitter(text, Options{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		s.spans = tokens.Spans(text)
		for range 50 {
			a := rng.Intn(len(text))
			b := a + 1 + rng.Intn(len(text)-a)
			if got, want := s.measure(a, b), tokens.Count(text[a:b]); got != want {
				t.Fatalf("measure(%d, %d) = %d, Count(%q) = %d", a, b, got, text[a:b], want)
			}
		}
	}
}

// TestIsASCII checks the word-at-a-time ASCII test at every length and
// position of a non-ASCII byte.
func TestIsASCII(t *testing.T) {
	for n := range 80 {
		b := []byte(strings.Repeat("a", n))
		if !isASCII(string(b)) {
			t.Fatalf("isASCII(%d × a) = false", n)
		}
		for i := range n {
			b[i] = 0x80
			if isASCII(string(b)) {
				t.Fatalf("isASCII with 0x80 at %d of %d = true", i, n)
			}
			b[i] = 'a'
		}
	}
}

// TestLineBreaks checks the byte loop of lineBreaks against counting each
// kind of line break, \r\n as one.
func TestLineBreaks(t *testing.T) {
	for _, gap := range []string{"", " ", "\n", "\n\n", "\r", "\r\n", "\r\r\n", "\n\r", " \r\n \n\t", "\r\n\r\n",
		"\u2028", "\n\u2028\n", "\u00a0\n", "\r\u2029", "\t\v\f"} {
		want := strings.Count(gap, "\n") + strings.Count(gap, "\r") - strings.Count(gap, "\r\n") + strings.Count(gap, "\u2028")
		if got := lineBreaks(gap); got != want {
			t.Errorf("lineBreaks(%q) = %d, want %d", gap, got, want)
		}
	}
}

// TestChunkTokensExact checks Chunk.Tokens against the encoder's token ids,
// a path of package tokens that does not go through Count, on prose and on
// mixed-script text, in both units.
func TestChunkTokensExact(t *testing.T) {
	rng := rand.New(rand.NewSource(2026))
	var mixed strings.Builder
	for mixed.Len() < 100<<10 {
		mixed.WriteString(randomDoc(rng, 100))
		mixed.WriteString("\n\n")
	}
	for name, text := range map[string]string{
		"as written": englishCorpus(t, 200<<10, false),
		"reflowed":   englishCorpus(t, 200<<10, true),
		"mixed":      mixed.String(),
	} {
		for _, opts := range []Options{{Size: 1000, Unit: UnitChars}, {Size: 120, Overlap: 30, Unit: UnitChars}, {Size: 400}} {
			chunks, err := Split(text, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range chunks {
				if want := len(tokens.Encode(c.Text)); c.Tokens != want {
					t.Fatalf("%s, %s: chunk %d has Tokens %d, Encode gives %d: %q", name, optsName(opts), c.Index, c.Tokens, want, c.Text)
				}
			}
		}
	}
}
