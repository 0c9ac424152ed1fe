package local

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The retrieval test embeds the sample documents of examples/flows/data, split into paragraphs,
// and checks that brute-force cosine search with the lexical embedder finds the paragraphs
// that answer hand-labelled questions (testdata/retrieval/queries.json).

const (
	retrievalK = 5
	// recallFloor sits just under the measured recall@5 of the lexical embedder (logged by the
	// test); a drop below it means the embedder got worse.
	recallFloor = 0.94
)

type chunk struct{ id, text string }

type labelledQuery struct {
	Query    string   `json:"query"`
	Relevant []string `json:"relevant"`
}

// loadChunks splits every examples/flows/data document into non-heading paragraphs.
func loadChunks(t testing.TB) []chunk {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "flows", "data", "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample documents found (err %v)", err)
	}
	var out []chunk
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		stem := strings.TrimSuffix(filepath.Base(f), ".md")
		n := 0
		for _, p := range strings.Split(string(b), "\n\n") {
			if p = strings.TrimSpace(p); p == "" || strings.HasPrefix(p, "#") {
				continue
			}
			n++
			out = append(out, chunk{id: stem + "#" + strconv.Itoa(n), text: p})
		}
	}
	return out
}

func loadQueries(t testing.TB) []labelledQuery {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "retrieval", "queries.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Queries []labelledQuery }
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	return file.Queries
}

// recallAt averages, over queries, the share of relevant chunks found in the top k.
func recallAt(k int, queries []labelledQuery, rank func(q string) []string) (float64, []string) {
	var sum float64
	var misses []string
	for _, q := range queries {
		top := rank(q.Query)[:k]
		found := 0
		for _, r := range q.Relevant {
			if slices.Contains(top, r) {
				found++
			}
		}
		sum += float64(found) / float64(len(q.Relevant))
		if found < len(q.Relevant) {
			misses = append(misses, q.Query+" → "+strings.Join(top, " "))
		}
	}
	return sum / float64(len(queries)), misses
}

func TestRetrievalRecall(t *testing.T) {
	chunks := loadChunks(t)
	queries := loadQueries(t)
	if len(chunks) < 100 || len(queries) < 30 {
		t.Fatalf("corpus too small: %d chunks, %d queries (want ≥ 100 and ≥ 30)", len(chunks), len(queries))
	}
	ids := map[string]bool{}
	for _, c := range chunks {
		ids[c.id] = true
	}
	for _, q := range queries {
		for _, r := range q.Relevant {
			if !ids[r] {
				t.Fatalf("query %q: relevant chunk %q does not exist", q.Query, r)
			}
		}
	}
	e := hashEmbedder{dims: defaultDimensions}
	vecs := make([][]float32, len(chunks))
	for i, c := range chunks {
		vecs[i] = e.embed(c.text)
	}
	lexical, misses := recallAt(retrievalK, queries, func(q string) []string {
		qv := e.embed(q)
		return topIDs(chunks, func(i int) float64 { return cosine(qv, vecs[i]) })
	})
	bm := newBM25(chunks)
	bm25, _ := recallAt(retrievalK, queries, func(q string) []string {
		return topIDs(chunks, func(i int) float64 { return bm.score(q, i) })
	})
	t.Logf("%d chunks, %d queries: recall@%d hash-embed(%d) = %.3f, BM25 = %.3f", len(chunks), len(queries), retrievalK, defaultDimensions, lexical, bm25)
	for _, m := range misses {
		t.Logf("miss: %s", m)
	}
	if lexical < recallFloor {
		t.Errorf("recall@%d = %.3f, want ≥ %.2f", retrievalK, lexical, recallFloor)
	}
}

// topIDs returns chunk ids by descending score, ties in corpus order.
func topIDs(chunks []chunk, score func(i int) float64) []string {
	idx := make([]int, len(chunks))
	scores := make([]float64, len(chunks))
	for i := range idx {
		idx[i], scores[i] = i, score(i)
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = chunks[j].id
	}
	return out
}

// bm25 is a plain Okapi BM25 (k1 1.2, b 0.75) over content terms, for comparison only.
type bm25 struct {
	tf    []map[string]int
	lens  []float64
	avg   float64
	df    map[string]int
	total float64
}

func newBM25(chunks []chunk) *bm25 {
	m := &bm25{df: map[string]int{}, total: float64(len(chunks))}
	for _, c := range chunks {
		tf := map[string]int{}
		terms := contentTerms(c.text)
		for _, w := range terms {
			if tf[w]++; tf[w] == 1 {
				m.df[w]++
			}
		}
		m.tf = append(m.tf, tf)
		m.lens = append(m.lens, float64(len(terms)))
		m.avg += float64(len(terms)) / m.total
	}
	return m
}

func (m *bm25) score(q string, i int) float64 {
	const k1, b = 1.2, 0.75
	var s float64
	for _, w := range contentTerms(q) {
		f := float64(m.tf[i][w])
		if f == 0 {
			continue
		}
		n := float64(m.df[w])
		idf := math.Log(1 + (m.total-n+0.5)/(n+0.5))
		s += idf * f * (k1 + 1) / (f + k1*(1-b+b*m.lens[i]/m.avg))
	}
	return s
}
