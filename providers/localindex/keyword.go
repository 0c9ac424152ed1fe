package localindex

import (
	"context"
	"sort"

	"github.com/aiflow/aiflow/providers/localindex/bm25"
)

// rrfK is the reciprocal rank fusion constant of Cormack et al.
const rrfK = 60

// buildKeywords indexes every live slot's text; run once after loading.
func (c *core) buildKeywords() {
	c.kw = bm25.New()
	for slot, live := range c.st.live {
		if live && c.st.text[slot] != "" {
			c.kw.Set(uint32(slot), c.st.text[slot])
		}
	}
}

// keywordSearch ranks live slots that accept admits by BM25 over their text.
func (c *core) keywordSearch(text string, k int, accept func(uint32) bool) []scored {
	live := c.st.live
	hits := c.kw.Search(text, k, func(doc uint32) bool {
		return live[doc] && (accept == nil || accept(doc))
	})
	out := make([]scored, len(hits))
	for i, h := range hits {
		out[i] = scored{h.Doc, h.Score}
	}
	return out
}

// hybridSearch fuses the vector and keyword rankings: each slot scores Σ 1/(60 + rank)
// over the lists it appears in, ranks counted from 1 within the top max(2k, 50) of each.
func (c *core) hybridSearch(ctx context.Context, q []float32, text string, k int, accept func(uint32) bool) ([]scored, error) {
	depth := max(2*k, 50)
	vec, err := c.vectorSearch(ctx, q, depth, accept)
	if err != nil {
		return nil, err
	}
	return c.fuse(k, vec, c.keywordSearch(text, depth, accept)), nil
}

func (c *core) fuse(k int, lists ...[]scored) []scored {
	sum := map[uint32]float64{}
	for _, l := range lists {
		for rank, h := range l {
			sum[h.slot] += 1 / float64(rrfK+rank+1)
		}
	}
	out := make([]scored, 0, len(sum))
	for slot, s := range sum {
		out = append(out, scored{slot, s})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score > out[j].score
		}
		return c.st.ids[out[i].slot] < c.st.ids[out[j].slot]
	})
	return out[:min(k, len(out))]
}
