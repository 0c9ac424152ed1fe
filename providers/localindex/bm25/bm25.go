// Package bm25 is an in-memory BM25 inverted index over documents numbered by uint32,
// with a simple Unicode word tokenizer. Index is not safe for concurrent use: callers
// serialise writes against reads.
package bm25

import (
	"math"
	"slices"
	"sort"
)

// BM25 parameters: term-frequency saturation and length normalisation.
const (
	K1 = 1.2
	B  = 0.75
)

type posting struct{ doc, tf uint32 }

// Index maps terms to posting lists sorted by document. Set and Remove cost
// O(t·log df + moves) for a document of t distinct terms; Search costs O(sum of the query
// terms' posting lengths) plus O(n log k) for the top k.
type Index struct {
	terms    map[string]uint32
	postings [][]posting
	docTerms [][]uint32 // distinct term ids per document, for Remove
	docLen   []uint32
	docs     int
	totalLen int64
}

// Hit is a scored document.
type Hit struct {
	Doc   uint32
	Score float64
}

// New returns an empty index.
func New() *Index { return &Index{terms: map[string]uint32{}} }

// Len is the number of documents with at least one token.
func (x *Index) Len() int { return x.docs }

// Set indexes doc's text, replacing what doc held before.
func (x *Index) Set(doc uint32, text string) {
	x.Remove(doc)
	toks := Tokenize(text)
	if len(toks) == 0 {
		return
	}
	for int(doc) >= len(x.docLen) {
		x.docLen = append(x.docLen, 0)
		x.docTerms = append(x.docTerms, nil)
	}
	tf := map[string]uint32{}
	for _, t := range toks {
		tf[t]++
	}
	ids := make([]uint32, 0, len(tf))
	for t, n := range tf {
		id := x.termID(t)
		ids = append(ids, id)
		l := x.postings[id]
		i := sort.Search(len(l), func(i int) bool { return l[i].doc >= doc })
		x.postings[id] = slices.Insert(l, i, posting{doc, n})
	}
	x.docTerms[doc] = ids
	x.docLen[doc] = uint32(len(toks))
	x.docs++
	x.totalLen += int64(len(toks))
}

func (x *Index) termID(t string) uint32 {
	id, ok := x.terms[t]
	if !ok {
		id = uint32(len(x.postings))
		x.terms[t] = id
		x.postings = append(x.postings, nil)
	}
	return id
}

// Remove drops doc from the index; removing an absent document does nothing.
func (x *Index) Remove(doc uint32) {
	if int(doc) >= len(x.docLen) || x.docLen[doc] == 0 {
		return
	}
	for _, id := range x.docTerms[doc] {
		l := x.postings[id]
		i := sort.Search(len(l), func(i int) bool { return l[i].doc >= doc })
		x.postings[id] = slices.Delete(l, i, i+1)
	}
	x.docs--
	x.totalLen -= int64(x.docLen[doc])
	x.docTerms[doc], x.docLen[doc] = nil, 0
}

// Search returns the k best documents for query that accept admits (nil admits all),
// best first, ties by document number.
func (x *Index) Search(query string, k int, accept func(doc uint32) bool) []Hit {
	if x.docs == 0 || k <= 0 {
		return nil
	}
	scores := make([]float64, len(x.docLen))
	var touched []uint32
	n, avg := float64(x.docs), float64(x.totalLen)/float64(x.docs)
	for _, t := range dedupe(Tokenize(query)) {
		id, ok := x.terms[t]
		if !ok || len(x.postings[id]) == 0 {
			continue
		}
		l := x.postings[id]
		w := idf(n, float64(len(l)))
		for _, p := range l {
			if scores[p.doc] == 0 {
				touched = append(touched, p.doc)
			}
			tf, dl := float64(p.tf), float64(x.docLen[p.doc])
			scores[p.doc] += w * tf * (K1 + 1) / (tf + K1*(1-B+B*dl/avg))
		}
	}
	return topHits(touched, scores, k, accept)
}

// idf is the BM25 inverse document frequency of a term found in df of the n documents.
func idf(n, df float64) float64 { return math.Log(1 + (n-df+0.5)/(df+0.5)) }

// SelfScore is what query would score against a document of average length holding each
// of its distinct terms once: Σ idf(t)·(K1+1)/(1+K1) = Σ idf(t). Terms no document holds
// count with df 0, the highest idf, so a query whose words the index has never seen cannot
// reach its own self-score. Dividing a Search score by it gives a relevance that is about 1
// for a document matching the whole query and falls toward 0 as fewer (and rarer) query
// terms match; it is 0 for an empty index or a query without words.
func (x *Index) SelfScore(query string) float64 {
	if x.docs == 0 {
		return 0
	}
	n := float64(x.docs)
	var s float64
	for _, t := range dedupe(Tokenize(query)) {
		df := 0.0
		if id, ok := x.terms[t]; ok {
			df = float64(len(x.postings[id]))
		}
		s += idf(n, df)
	}
	return s
}

// Score is doc's BM25 score for query, as Search computes it (0 when doc holds none of the
// query's terms or is not indexed). It costs O(query terms · log df).
func (x *Index) Score(query string, doc uint32) float64 {
	if x.docs == 0 || int(doc) >= len(x.docLen) || x.docLen[doc] == 0 {
		return 0
	}
	n, avg := float64(x.docs), float64(x.totalLen)/float64(x.docs)
	dl := float64(x.docLen[doc])
	var s float64
	for _, t := range dedupe(Tokenize(query)) {
		id, ok := x.terms[t]
		if !ok {
			continue
		}
		l := x.postings[id]
		i := sort.Search(len(l), func(i int) bool { return l[i].doc >= doc })
		if i == len(l) || l[i].doc != doc {
			continue
		}
		tf := float64(l[i].tf)
		s += idf(n, float64(len(l))) * tf * (K1 + 1) / (tf + K1*(1-B+B*dl/avg))
	}
	return s
}

func dedupe(ts []string) []string {
	seen := map[string]bool{}
	out := ts[:0]
	for _, t := range ts {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// topHits selects the k best accepted documents.
func topHits(docs []uint32, scores []float64, k int, accept func(uint32) bool) []Hit {
	better := func(a, b Hit) bool { return a.Score > b.Score || a.Score == b.Score && a.Doc < b.Doc }
	var h []Hit // min-heap by better: root is the worst kept
	for _, d := range docs {
		if accept != nil && !accept(d) {
			continue
		}
		c := Hit{d, scores[d]}
		switch {
		case len(h) < k:
			h = append(h, c)
			for i := len(h) - 1; i > 0 && better(h[(i-1)/2], h[i]); i = (i - 1) / 2 {
				h[i], h[(i-1)/2] = h[(i-1)/2], h[i]
			}
		case better(c, h[0]):
			h[0] = c
			siftDown(h, better)
		}
	}
	sort.Slice(h, func(i, j int) bool { return better(h[i], h[j]) })
	return h
}

func siftDown(h []Hit, better func(a, b Hit) bool) {
	for i := 0; ; {
		m, l := i, 2*i+1
		if l < len(h) && better(h[m], h[l]) {
			m = l
		}
		if r := l + 1; r < len(h) && better(h[m], h[r]) {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
