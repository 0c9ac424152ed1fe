package bm25

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Hello, World!", []string{"hello", "world"}},
		{"  ", nil},
		{"don't stop-me now2", []string{"don", "t", "stop", "me", "now2"}},
		{"Crème BRÛLÉE", []string{"crème", "brûlée"}},
		{"cafe\u0301 au lait", []string{"cafe\u0301", "au", "lait"}},
		{"Ελληνικά και русский", []string{"ελληνικά", "και", "русский"}},
		{"東京 2026", []string{"東京", "2026"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Tokenize(tt.in), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// refScores computes BM25 from scratch over docs, straight from the formula.
func refScores(docs map[uint32]string, query string) map[uint32]float64 {
	toks := map[uint32][]string{}
	var total float64
	for d, text := range docs {
		if ts := Tokenize(text); len(ts) > 0 {
			toks[d] = ts
			total += float64(len(ts))
		}
	}
	n := float64(len(toks))
	avg := total / n
	out := map[uint32]float64{}
	seen := map[string]bool{}
	for _, q := range Tokenize(query) {
		if seen[q] {
			continue
		}
		seen[q] = true
		df := 0.0
		for _, ts := range toks {
			if contains(ts, q) {
				df++
			}
		}
		if df == 0 {
			continue
		}
		idf := math.Log((n-df+0.5)/(df+0.5) + 1)
		for d, ts := range toks {
			tf := float64(count(ts, q))
			if tf > 0 {
				out[d] += idf * (tf * (K1 + 1)) / (tf + K1*(1-B+B*float64(len(ts))/avg))
			}
		}
	}
	return out
}

func contains(ts []string, q string) bool { return count(ts, q) > 0 }

func count(ts []string, q string) int {
	n := 0
	for _, t := range ts {
		if t == q {
			n++
		}
	}
	return n
}

func refTop(scores map[uint32]float64, k int) []Hit {
	var hs []Hit
	for d, s := range scores {
		hs = append(hs, Hit{d, s})
	}
	sort.Slice(hs, func(i, j int) bool {
		if hs[i].Score != hs[j].Score {
			return hs[i].Score > hs[j].Score
		}
		return hs[i].Doc < hs[j].Doc
	})
	return hs[:min(k, len(hs))]
}

var vocab = strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu")

func randDoc(r *rand.Rand) string {
	var b strings.Builder
	for i := range r.IntN(20) {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(vocab[int(math.Min(float64(len(vocab)-1), r.ExpFloat64()*3))])
	}
	return b.String()
}

func TestSearchMatchesFormulaUnderUpdates(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := New()
	docs := map[uint32]string{}
	for step := range 3000 {
		d := uint32(r.IntN(300))
		switch r.IntN(4) {
		case 0:
			x.Remove(d)
			delete(docs, d)
		default:
			text := randDoc(r)
			x.Set(d, text)
			docs[d] = text
		}
		if step%250 != 0 {
			continue
		}
		for _, q := range []string{"alpha", "kappa mu", "beta beta gamma", "zeta nothing"} {
			want := refTop(refScores(docs, q), 10)
			got := x.Search(q, 10, nil)
			if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9), cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("step %d, query %q (-reference +index):\n%s", step, q, diff)
			}
			ref := refScores(docs, q)
			for d := range docs {
				if got := x.Score(q, d); math.Abs(got-ref[d]) > 1e-9 {
					t.Fatalf("step %d: Score(%q, %d) = %v, want %v", step, q, d, got, ref[d])
				}
			}
		}
	}
	nonEmpty := 0
	for _, text := range docs {
		if len(Tokenize(text)) > 0 {
			nonEmpty++
		}
	}
	if x.Len() != nonEmpty {
		t.Errorf("Len = %d, want %d", x.Len(), nonEmpty)
	}
}

func TestSearchAcceptAndLimits(t *testing.T) {
	x := New()
	x.Set(0, "red apple")
	x.Set(1, "red red car")
	x.Set(2, "green apple")
	got := x.Search("red apple", 10, func(d uint32) bool { return d != 1 })
	if len(got) != 2 || got[0].Doc != 0 || got[1].Doc != 2 {
		t.Errorf("Search with accept = %+v, want docs 0 then 2", got)
	}
	if got := x.Search("red", 0, nil); got != nil {
		t.Errorf("k=0 returned %v", got)
	}
	if got := New().Search("red", 3, nil); got != nil {
		t.Errorf("empty index returned %v", got)
	}
}

// TestSelfScoreNormalises checks that a Search score divided by SelfScore is a relevance
// near 1 for a document of average length holding each query term once, smaller when it
// holds fewer of them, and smaller still when the query has words no document holds.
func TestSelfScoreNormalises(t *testing.T) {
	x := New()
	x.Set(0, "tides rise twice")
	x.Set(1, "moon pulls oceans")
	x.Set(2, "bees dance daily")
	x.Set(3, "tides follow moon")
	rel := func(q string, doc uint32) float64 { return x.Score(q, doc) / x.SelfScore(q) }
	tests := []struct {
		query  string
		doc    uint32
		lo, hi float64
	}{
		{"tides follow moon", 3, 0.999, 1.001},
		{"tides moon", 3, 0.999, 1.001},
		{"tides follow moon", 0, 0.05, 0.5}, // one of three terms
		{"tides follow capital", 3, 0.2, 0.7},
		{"capital france", 3, 0, 0},
	}
	for _, tt := range tests {
		if got := rel(tt.query, tt.doc); got < tt.lo || got > tt.hi {
			t.Errorf("relevance of doc %d for %q = %.3f, want in [%.3f, %.3f]", tt.doc, tt.query, got, tt.lo, tt.hi)
		}
	}
	if got := New().SelfScore("tides"); got != 0 {
		t.Errorf("SelfScore on an empty index = %v, want 0", got)
	}
	if got := x.SelfScore("  "); got != 0 {
		t.Errorf("SelfScore of a query without words = %v, want 0", got)
	}
}
