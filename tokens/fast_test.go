package tokens

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// asciiFragments stress each alternative of cl100k_base's pattern on fast
// bytes, and the bytes next to them that are not fast.
var asciiFragments = []string{
	"a", "Word", "the", " the", "HELLO", "x", "'s", "'S", "'t", "'re", "'RE", "'Ve", "'m", "'ll", "'lL", "'d",
	"'", "''", "'x", "'r", "'v", "'l", "0", "12", "345", "6789", " ", "  ", "   ", "\t", "\n", "\r", "\r\n",
	"\n\n", " \n", "\n ", " \n \n", "\t\n\t", ".", ",", "!", "...", "?!", "(", ")", "-", "--", "/", "//",
	"\"", "#", "_", "~", "`", "@", "{}", "[x]", ".Net", "$5", "e.g.", "don't", "I'M", "http://a.b/c?d=e",
	"\x7f", "\v", "\f", "\x00", "\x1c", "é", "日本", "\u00a0", "\u2028",
	"‘", "’", "“", "”", "–", "—", "…", "’s", "’S", "“Hi”", " ’", "\u2009", "€", "\u2029", "\u200b", "\u2022",
}

func randomASCII(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(asciiFragments[rng.Intn(len(asciiFragments))])
	}
	return b.String()
}

// TestFastPathMatchesReference checks the ASCII fast path, and the regions
// that mix it with the library path, against tiktoken's algorithm.
func TestFastPathMatchesReference(t *testing.T) {
	e := Default()
	rng := rand.New(rand.NewSource(18))
	for range 20000 {
		text := randomASCII(rng, 1+rng.Intn(30))
		want := referenceEncode(e, text)
		if diff := cmp.Diff(want, e.Encode(text)); diff != "" {
			t.Fatalf("Encode(%q) differs from the reference (-want +got):\n%s", text, diff)
		}
		if got := e.Count(text); got != len(want) {
			t.Fatalf("Count(%q) = %d, reference has %d tokens", text, got, len(want))
		}
		checkSpans(t, e, text)
	}
}

// TestASCIIPreTokens checks asciiPreToken alone, on strings of fast bytes
// only, against the pattern run by regexp2's interpreter.
func TestASCIIPreTokens(t *testing.T) {
	e := Default()
	rng := rand.New(rand.NewSource(19))
	for range 20000 {
		text := randomASCII(rng, 1+rng.Intn(30))
		text = strings.Map(func(r rune) rune {
			if r < 0x80 && fastByte[r] || fastRune(string(r)+" ", 0) {
				return r
			}
			return -1
		}, text)
		if text == "" {
			continue
		}
		var want, got []string
		m, err := e.interpreter().FindStringMatch(text)
		for m != nil && err == nil {
			want = append(want, m.String())
			m, err = e.interpreter().FindNextMatch(m)
		}
		for i := 0; i < len(text); {
			j := asciiPreToken(text, i)
			got = append(got, text[i:j])
			i = j
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("pre-tokens of %q (-pattern +asciiPreToken):\n%s", text, diff)
		}
	}
}

// TestRegions checks that regions tile the text, cut only at safe
// boundaries, and mark as fast exactly the regions of fast bytes.
func TestRegions(t *testing.T) {
	e := Default()
	rng := rand.New(rand.NewSource(20))
	for range 5000 {
		text := randomASCII(rng, 1+rng.Intn(40))
		at := 0
		e.regions(text, func(p, q int, fast bool) {
			if p != at || q <= p {
				t.Fatalf("%q: region [%d,%d) after %d", text, p, q, at)
			}
			if p > 0 && !safeBoundary(text, p) {
				t.Fatalf("%q: region starts at %d, not a safe boundary", text, p)
			}
			allFast := true
			for i := p; i < q; i++ {
				if fastRune(text, i) {
					i += 2
					continue
				}
				allFast = allFast && fastByte[text[i]]
			}
			if fast && !allFast {
				t.Fatalf("%q: region %q is marked fast", text, text[p:q])
			}
			at = q
		})
		if at != len(text) {
			t.Fatalf("%q: regions end at %d", text, at)
		}
	}
}

// TestSmallMergeMatchesHeap checks smallMerge against the heap merger on
// pieces of every length it takes, from ASCII, UTF-8 and arbitrary bytes.
func TestSmallMergeMatchesHeap(t *testing.T) {
	alphabets := []string{"abcdeilnorst '.,-", "ab", "日本語éü 😀", "\x00\x7f\x80\xff\xfe a"}
	for _, name := range []string{"cl100k_base", "o200k_base", "r50k_base"} {
		e, _ := Get(name)
		rng := rand.New(rand.NewSource(21))
		for range 3000 {
			alpha := alphabets[rng.Intn(len(alphabets))]
			var b strings.Builder
			for b.Len() < 1+rng.Intn(smallPiece) {
				b.WriteByte(alpha[rng.Intn(len(alpha))])
			}
			piece := b.String()
			if len(piece) > smallPiece {
				piece = piece[:smallPiece]
			}
			var want, got [][2]int
			m := newMerger(piece, e.rankTable())
			for m.step() {
			}
			for i := 0; i < len(piece); i = m.next[i] {
				want = append(want, [2]int{e.rankTable()[piece[i:m.next[i]]], m.next[i] - i})
			}
			e.smallMerge(piece, func(id, n int) { got = append(got, [2]int{id, n}) })
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%s: smallMerge(%q) (-heap +small):\n%s", name, piece, diff)
			}
		}
	}
}

// TestMergeCacheBounded checks that counting many distinct pieces that are
// not tokens keeps the merge cache at its bound, and the counts exact.
func TestMergeCacheBounded(t *testing.T) {
	e := Default()
	rng := rand.New(rand.NewSource(22))
	var b strings.Builder
	for range maxCachedMerges + 5000 {
		b.WriteByte(' ')
		for range 12 {
			b.WriteByte(byte('a' + rng.Intn(26)))
		}
	}
	text := b.String()
	if got, want := e.Count(text), len(e.Encode(text)); got != want {
		t.Fatalf("Count = %d, Encode gives %d tokens", got, want)
	}
	if again := e.Count(text); again != e.Count(text) || len(e.tables().merges.m) > maxCachedMerges {
		t.Fatalf("second Count = %d; cache holds %d pieces, bound %d", again, len(e.tables().merges.m), maxCachedMerges)
	}
	if len(e.tables().merges.m) < maxCachedMerges {
		t.Fatalf("cache holds %d pieces after %d distinct ones; want it full", len(e.tables().merges.m), maxCachedMerges+5000)
	}
}

// TestFlatTablesMatchRanks checks the flat tables against the rank map: every
// token of up to 16 bytes is found with its id, in any position of a longer
// string, and strings that are not tokens are not found.
func TestFlatTablesMatchRanks(t *testing.T) {
	e := Default()
	tb := e.tables()
	for tok, id := range e.rankTable() {
		if len(tok) > 16 {
			continue
		}
		for _, pad := range []string{"", "x", "0123456789abcdefg"} {
			s := pad + tok + pad
			if got, ok := tb.lookup(e, s, len(pad), len(pad)+len(tok)); !ok || got != id {
				t.Fatalf("lookup(%q in %q) = %d, %v; want %d", tok, s, got, ok, id)
			}
		}
		for _, c := range []string{"\x00", "\x01", "q", "\xff"} {
			s := tok + c
			_, want := e.rankTable()[s]
			if _, ok := tb.lookup(e, s, 0, len(s)); ok != want && len(s) <= 16 {
				t.Fatalf("lookup(%q) found %v, the rank map says %v", s, ok, want)
			}
		}
	}
}

// TestBoundaryAdds checks Boundary's promise on random text under every
// encoding: where it holds, the counts of the two sides add up to the
// count of the whole.
func TestBoundaryAdds(t *testing.T) {
	rng := rand.New(rand.NewSource(23))
	checked := 0
	for range 3000 {
		text := randomASCII(rng, 2+rng.Intn(30))
		if rng.Intn(2) == 0 {
			text = randomText(rng, 2+rng.Intn(30)) + text
		}
		for p := 1; p < len(text); p++ {
			if !Boundary(text, p) {
				continue
			}
			a, b := rng.Intn(p), p+1+rng.Intn(len(text)-p)
			for _, name := range []string{"cl100k_base", "o200k_base", "r50k_base"} {
				e, _ := Get(name)
				if whole, parts := e.Count(text[a:b]), e.Count(text[a:p])+e.Count(text[p:b]); whole != parts {
					t.Fatalf("%s: Count(%q) = %d, but %q and %q count %d", name, text[a:b], whole, text[a:p], text[p:b], parts)
				}
			}
			checked++
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d boundaries checked", checked)
	}
}

// TestFastPathConcurrent counts and encodes English with non-token words
// from several goroutines at once, sharing the lazily built tables and the
// merge cache; run with -race.
func TestFastPathConcurrent(t *testing.T) {
	e := Default()
	rng := rand.New(rand.NewSource(25))
	texts := make([]string, 8)
	for i := range texts {
		texts[i] = randomASCII(rng, 400) + " zyxwvut qwertzuiop " + randomASCII(rng, 400)
	}
	want := make([]int, len(texts))
	for i, text := range texts {
		want[i] = len(referenceEncode(e, text))
	}
	errs := make(chan string, len(texts))
	for i, text := range texts {
		go func() {
			if got := e.Count(text); got != want[i] || len(e.Spans(text)) != want[i] {
				errs <- text
				return
			}
			errs <- ""
		}()
	}
	for range texts {
		if text := <-errs; text != "" {
			t.Errorf("concurrent Count or Spans of %q disagreed with the reference", text)
		}
	}
}

func TestPrintable8(t *testing.T) {
	rng := rand.New(rand.NewSource(26))
	for range 200000 {
		var b [8]byte
		want := true
		for i := range b {
			b[i] = byte(rng.Intn(256))
			if rng.Intn(3) > 0 {
				b[i] = byte(0x20 + rng.Intn(0x5f))
			}
			want = want && b[i] >= 0x20 && b[i] <= 0x7e
		}
		if got := printable8(string(b[:])); got != want {
			t.Fatalf("printable8(%q) = %v, want %v", b, got, want)
		}
	}
}

func TestPrintable32(t *testing.T) {
	rng := rand.New(rand.NewSource(32))
	for range 100000 {
		var b [32]byte
		want := true
		for i := range b {
			b[i] = byte(0x20 + rng.Intn(0x5f))
			if rng.Intn(60) == 0 {
				b[i] = byte(rng.Intn(256))
			}
			want = want && b[i] >= 0x20 && b[i] <= 0x7e
		}
		if got := printable32(string(b[:])); got != want {
			t.Fatalf("printable32(%q) = %v, want %v", b, got, want)
		}
	}
}
