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
		df := float64(len(l))
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		for _, p := range l {
			if scores[p.doc] == 0 {
				touched = append(touched, p.doc)
			}
			tf, dl := float64(p.tf), float64(x.docLen[p.doc])
			scores[p.doc] += idf * tf * (K1 + 1) / (tf + K1*(1-B+B*dl/avg))
		}
	}
	return topHits(touched, scores, k, accept)
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
