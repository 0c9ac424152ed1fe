package localindex

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/aiflow/aiflow/providers"
)

// defaultTopK is Vectorize's default.
const defaultTopK = 5

// scored is a final result before it becomes a Match.
type scored struct {
	slot  uint32
	score float64
}

// query runs q; see Index.Query.
func (c *core) query(ctx context.Context, q providers.VectorQuery) ([]providers.Match, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mode, k, qv, f, err := c.checkQuery(q)
	if err != nil {
		return nil, fmt.Errorf("index %q: %w", c.name(), err)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, errClosed
	}
	accept := c.acceptor(q.Namespace, f)
	var hits []scored
	switch mode {
	case providers.ModeVector:
		hits, err = c.vectorSearch(ctx, qv, k, accept)
	case providers.ModeKeyword:
		hits = c.keywordSearch(q.Text, k, accept)
	case providers.ModeHybrid:
		hits, err = c.hybridSearch(ctx, qv, q.Text, k, accept)
	}
	if err != nil {
		return nil, err
	}
	return c.matches(hits, q), nil
}

// checkQuery validates q and returns its mode, topK, prepared vector and filter.
func (c *core) checkQuery(q providers.VectorQuery) (string, int, []float32, filter, error) {
	mode, k := q.Mode, q.TopK
	if mode == "" {
		mode = providers.ModeVector
	}
	if k == 0 {
		k = defaultTopK
	}
	if k < 0 {
		return "", 0, nil, nil, fmt.Errorf("topK must be positive, got %d", q.TopK)
	}
	f, err := compileFilter(q.Filter)
	if err != nil {
		return "", 0, nil, nil, err
	}
	var qv []float32
	switch mode {
	case providers.ModeVector, providers.ModeHybrid:
		if qv, err = c.prepQuery(q.Vector); err != nil {
			return "", 0, nil, nil, err
		}
		if mode == providers.ModeHybrid && q.Text == "" {
			return "", 0, nil, nil, fmt.Errorf("hybrid query needs text as well as a vector")
		}
	case providers.ModeKeyword:
		if q.Text == "" {
			return "", 0, nil, nil, fmt.Errorf("keyword query needs text")
		}
	default:
		return "", 0, nil, nil, fmt.Errorf("unknown query mode %q (allowed: vector, keyword, hybrid)", q.Mode)
	}
	return mode, k, qv, f, nil
}

// prepQuery checks a query vector and copies it, normalised for cosine.
func (c *core) prepQuery(v []float32) ([]float32, error) {
	if len(v) != c.p.dim {
		return nil, fmt.Errorf("query vector has %d dimensions, expected %d", len(v), c.p.dim)
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("query vector value %d is %v", i, x)
		}
	}
	qv := append([]float32(nil), v...)
	if c.p.metric == metricCosine {
		normalize(qv)
	}
	return qv, nil
}

// acceptor returns the namespace-and-metadata test for a slot, or nil when there is none.
// Callers check liveness themselves.
func (c *core) acceptor(ns string, f filter) func(uint32) bool {
	if ns == "" && len(f) == 0 {
		return nil
	}
	st := c.st
	return func(slot uint32) bool {
		return (ns == "" || st.ns[slot] == ns) && f.match(st.meta[slot])
	}
}

// vectorSearch returns the k nearest live slots that accept admits: through the HNSW
// graph when there is one and the slab is big enough for it to pay, else exactly.
func (c *core) vectorSearch(ctx context.Context, q []float32, k int, accept func(uint32) bool) ([]scored, error) {
	if c.graph != nil && c.st.slots()*c.p.dim >= parallelMinFloats {
		if hits, ok := c.annSearch(q, k, accept); ok {
			return c.toScores(hits), nil
		}
	}
	hits, err := c.exact(ctx, q, k, accept)
	if err != nil {
		return nil, err
	}
	return c.toScores(hits), nil
}

// toScores converts keys to metric scores, ordering ties by id for stable results.
func (c *core) toScores(hits []hit) []scored {
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].key != hits[j].key {
			return hits[i].key > hits[j].key
		}
		return c.st.ids[hits[i].slot] < c.st.ids[hits[j].slot]
	})
	out := make([]scored, len(hits))
	for i, h := range hits {
		out[i] = scored{h.slot, c.keyScore(h.key)}
	}
	return out
}

// keyScore converts a keyFunc key to the metric's score (euclidean keys are negated distances).
func (c *core) keyScore(key float32) float64 {
	if c.p.metric == metricEuclidean {
		return -float64(key)
	}
	return float64(key)
}

func (c *core) matches(hits []scored, q providers.VectorQuery) []providers.Match {
	st := c.st
	out := make([]providers.Match, len(hits))
	for i, h := range hits {
		m := providers.Match{ID: st.ids[h.slot], Score: h.score, Namespace: st.ns[h.slot], Text: st.text[h.slot]}
		if q.ReturnMetadata {
			m.Metadata = copyMeta(st.meta[h.slot])
		}
		if q.ReturnValues {
			m.Values = st.values(h.slot, c.p.metric == metricCosine)
		}
		out[i] = m
	}
	return out
}
