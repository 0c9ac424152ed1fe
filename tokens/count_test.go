package tokens

import (
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCountCorpusExact checks Count, which counts through pieceCache, against
// tiktoken's algorithm on real prose, whole and in windows cut anywhere.
func TestCountCorpusExact(t *testing.T) {
	e := Default()
	text := english(t, 200<<10)
	if got, want := e.Count(text), len(referenceEncode(e, text)); got != want {
		t.Fatalf("Count(corpus) = %d, reference has %d tokens", got, want)
	}
	rng := rand.New(rand.NewSource(18))
	for range 2000 {
		a := rng.Intn(len(text))
		b := a + rng.Intn(min(len(text)-a, 3000)+1)
		w := text[a:b]
		if !utf8.ValidString(w) {
			continue
		}
		if got, want := e.Count(w), len(e.Encode(w)); got != want {
			t.Fatalf("Count(text[%d:%d]) = %d, Encode gives %d tokens: %q", a, b, got, want, w)
		}
	}
}

// TestPieceCacheReplacement counts far more distinct pieces than a
// pieceCache has slots, so that slots are replaced, and checks every count,
// then counts them again in another order.
func TestPieceCacheReplacement(t *testing.T) {
	e := Default()
	tb := e.tables()
	rng := rand.New(rand.NewSource(19))
	words := make([]string, 40000)
	for i := range words {
		n := 1 + rng.Intn(maxCachedPiece+2)
		b := make([]byte, n)
		for k := range b {
			b[k] = "etaoinshrdlucmfwypvbgkjqxz"[rng.Intn(26)]
		}
		if rng.Intn(2) == 0 {
			b[0] = ' '
		}
		words[i] = string(b)
	}
	c := new(pieceCache)
	for round := range 2 {
		for _, w := range words {
			want := len(e.Encode(w))
			// The piece in the middle of a longer string, and at its end.
			for _, s := range []string{"xx" + w + strings.Repeat(".", 20), "xx" + w} {
				if got := c.count(e, tb, s, 2, 2+len(w)); got != want {
					t.Fatalf("round %d: count(%q) = %d, want %d", round, w, got, want)
				}
			}
		}
		rng.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
	}
}

// TestPieceKeys checks that a piece's key does not depend on what follows
// it, and that different pieces get different keys.
func TestPieceKeys(t *testing.T) {
	s := "a bc def ghij klmno pqrstu vwxyzab cdefghij klmnopqrs tuvwxyzabc …“quoted”— end"
	seen := map[[2]uint64]string{}
	for i := range len(s) {
		for j := i + 1; j <= len(s) && j-i <= maxCachedPiece; j++ {
			k0, k1 := pieceKeys(s, i, j)
			if c0, c1 := pieceKeys(s[:j], i, j); c0 != k0 || c1 != k1 {
				t.Fatalf("keys of %q: %x %x in the text, %x %x at its end", s[i:j], k0, k1, c0, c1)
			}
			if other, ok := seen[[2]uint64{k0, k1}]; ok && other != s[i:j] {
				t.Fatalf("%q and %q share a key", other, s[i:j])
			}
			seen[[2]uint64{k0, k1}] = s[i:j]
		}
	}
}

// TestNonLetters checks the eight-bytes-at-once letter test against
// byteClass for every byte value in every position.
func TestNonLetters(t *testing.T) {
	for c := range 256 {
		for pos := range 8 {
			w := uint64(c)<<(8*pos) | 0x6161616161616161&^(0xff<<(8*pos)) // 'a' elsewhere
			m := nonLetters(w)
			want := uint64(0)
			if byteClass[c] != clsLetter {
				want = 0x80 << (8 * pos)
			}
			if m != want {
				t.Fatalf("nonLetters with byte %#x at %d = %#x, want %#x", c, pos, m, want)
			}
		}
	}
}

// FuzzCount checks Count against tiktoken's algorithm after another text
// has been counted, which leaves its pieces in the cache.
func FuzzCount(f *testing.F) {
	for _, s := range [][2]string{{"the cat", "the catalogue"}, {"don't", "'s 's"}, {"a\n\nb", " ab  cd\t\n"}, {"“Hi”", "…and—so"}} {
		f.Add(s[0], s[1])
	}
	e := Default()
	f.Fuzz(func(t *testing.T, warm, s string) {
		e.Count(warm)
		if !utf8.ValidString(s) {
			return
		}
		if got, want := e.Count(s), len(referenceEncode(e, s)); got != want {
			t.Fatalf("Count(%q) = %d after Count(%q), reference has %d tokens", s, got, warm, want)
		}
	})
}

// TestCountMixedExact checks Count on prose with characters the fast path
// does not take dropped in at random places, so that countASCII hands
// stretches of it to the library path and resumes after them.
func TestCountMixedExact(t *testing.T) {
	e := Default()
	text := english(t, 100<<10)
	odd := []string{"é", "\x00", "\u2028", "日本", "\u00a0", "\x7f", "\v", "’", "“", "—", "😀", "e\u0301", "\u2009", "café", " ü", "\f\n"}
	rng := rand.New(rand.NewSource(20))
	for range 1500 {
		a := rng.Intn(len(text) - 600)
		w := text[a : a+1+rng.Intn(500)]
		for range 1 + rng.Intn(3) {
			at := rng.Intn(len(w) + 1)
			w = w[:at] + odd[rng.Intn(len(odd))] + w[at:]
		}
		if !utf8.ValidString(w) { // an insertion split an earlier one
			continue
		}
		if got, want := e.Count(w), len(referenceEncode(e, w)); got != want {
			t.Fatalf("Count(%q) = %d, reference has %d tokens", w, got, want)
		}
	}
}
