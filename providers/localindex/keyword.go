package localindex

import (
	"context"
	"sort"

	"github.com/aiflow/aiflow/providers/localindex/bm25"
)

// Scores are calibrated so that one threshold means the same thing from query to query:
//
//   - vector: the metric's own score (cosine or dot product, higher is closer; euclidean
//     distance, lower is closer), as Vectorize reports it.
//   - keyword: BM25 divided by the query's self-score (bm25.Index.SelfScore), capped at 1:
//     about 1 when a document of average length holds every query term, less as fewer and
//     more common terms match, and less when the query has words no document holds.
//   - hybrid: hybridVectorWeight·sim + (1−hybridVectorWeight)·keyword, where sim is the
//     cosine (or dot product) clamped to [0, 1], or 1/(1+distance) for euclidean. A convex
//     combination of scores in [0, 1] is in [0, 1], unlike reciprocal rank fusion, whose
//     scores (about 1/60) carry no information about how relevant a hit is.

// hybridVectorWeight is the vector similarity's share of a hybrid score.
const hybridVectorWeight = 0.5

// buildKeywords indexes every live slot's text; run once after loading.
func (c *core) buildKeywords() {
	c.kw = bm25.New()
	for slot, live := range c.st.live {
		if live && c.st.text[slot] != "" {
			c.kw.Set(uint32(slot), c.st.text[slot])
		}
	}
}

// keywordSearch ranks live slots that accept admits by BM25 over their text; scores are
// normalised by the query's self-score.
func (c *core) keywordSearch(text string, k int, accept func(uint32) bool) []scored {
	live := c.st.live
	hits := c.kw.Search(text, k, func(doc uint32) bool {
		return live[doc] && (accept == nil || accept(doc))
	})
	self := c.kw.SelfScore(text)
	out := make([]scored, len(hits))
	for i, h := range hits {
		out[i] = scored{h.Doc, keywordRelevance(h.Score, self)}
	}
	return out
}

// keywordRelevance is a BM25 score over the query's self-score, capped at 1.
func keywordRelevance(score, self float64) float64 {
	if self <= 0 {
		return 0
	}
	return min(1, score/self)
}

// hybridSimilarity maps a vector-mode score to [0, 1] for hybrid fusion.
func (c *core) hybridSimilarity(score float64) float64 {
	if c.p.metric == metricEuclidean {
		return 1 / (1 + score)
	}
	return min(1, max(0, score))
}

// hybridSearch scores the union of the top max(2k, 50) vector and keyword candidates by
// the convex combination of their normalised vector and keyword scores (a candidate found
// by one list gets its other score computed exactly) and returns the k best.
func (c *core) hybridSearch(ctx context.Context, q []float32, text string, k int, accept func(uint32) bool) ([]scored, error) {
	depth := max(2*k, 50)
	vec, err := c.vectorSearch(ctx, q, depth, accept)
	if err != nil {
		return nil, err
	}
	kw := c.keywordSearch(text, depth, accept)
	type pair struct {
		v, k       float64
		hasV, hasK bool
	}
	cand := map[uint32]*pair{}
	get := func(slot uint32) *pair {
		p := cand[slot]
		if p == nil {
			p = &pair{}
			cand[slot] = p
		}
		return p
	}
	for _, h := range vec {
		p := get(h.slot)
		p.v, p.hasV = c.hybridSimilarity(h.score), true
	}
	for _, h := range kw {
		p := get(h.slot)
		p.k, p.hasK = h.score, true
	}
	key, self := keyFunc(c.p.metric), c.kw.SelfScore(text)
	out := make([]scored, 0, len(cand))
	for slot, p := range cand {
		if !p.hasV {
			p.v = c.hybridSimilarity(c.keyScore(key(q, c.st.vec(slot))))
		}
		if !p.hasK {
			p.k = keywordRelevance(c.kw.Score(text, slot), self)
		}
		out = append(out, scored{slot, hybridVectorWeight*p.v + (1-hybridVectorWeight)*p.k})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score > out[j].score
		}
		return c.st.ids[out[i].slot] < c.st.ids[out[j].slot]
	})
	return out[:min(k, len(out))], nil
}
