package steptest

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/aiflow/aiflow/providers"
)

// Index is an in-memory providers.VectorIndex: exact cosine search, keyword search by
// shared lowercase words, hybrid as the sum of both, and filters of plain equality on
// top-level metadata keys. It rejects vectors of the wrong size, like a real backend.
type Index struct {
	Dimensions int

	mu      sync.Mutex
	vectors map[string]providers.Vector
	upserts int
	queries []providers.VectorQuery
}

var _ providers.VectorIndex = (*Index)(nil)

// NewIndex returns an empty index of the given dimensions.
func NewIndex(dims int) *Index {
	return &Index{Dimensions: dims, vectors: map[string]providers.Vector{}}
}

// Upsert stores the vectors by id.
func (x *Index) Upsert(_ context.Context, vs []providers.Vector) (int, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, v := range vs {
		if len(v.Values) != x.Dimensions {
			return 0, fmt.Errorf("test index: vector %q has %d dimensions, want %d", v.ID, len(v.Values), x.Dimensions)
		}
	}
	for _, v := range vs {
		x.vectors[v.ID] = v
	}
	x.upserts++
	return len(vs), nil
}

// Upserts counts Upsert calls that wrote something.
func (x *Index) Upserts() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.upserts
}

// Queries returns the queries received so far.
func (x *Index) Queries() []providers.VectorQuery {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]providers.VectorQuery(nil), x.queries...)
}

// Query scores every stored vector that passes the namespace and filter.
func (x *Index) Query(_ context.Context, q providers.VectorQuery) ([]providers.Match, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.queries = append(x.queries, q)
	mode := q.Mode
	if mode == "" {
		mode = providers.ModeVector
	}
	if mode != providers.ModeKeyword && len(q.Vector) != x.Dimensions {
		return nil, fmt.Errorf("test index: query vector has %d dimensions, want %d", len(q.Vector), x.Dimensions)
	}
	var out []providers.Match
	for _, v := range x.vectors {
		if v.Namespace != q.Namespace || !matches(v.Metadata, q.Filter) {
			continue
		}
		var score float64
		if mode != providers.ModeKeyword {
			score += cosine(q.Vector, v.Values)
		}
		if mode != providers.ModeVector {
			score += overlap(q.Text, v.Text)
		}
		m := providers.Match{ID: v.ID, Score: score, Text: v.Text, Namespace: v.Namespace}
		if q.ReturnMetadata {
			m.Metadata = v.Metadata
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > q.TopK {
		out = out[:q.TopK]
	}
	return out, nil
}

// GetByIDs returns the stored vectors among ids, in ids order.
func (x *Index) GetByIDs(_ context.Context, ids []string) ([]providers.Vector, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []providers.Vector
	for _, id := range ids {
		if v, ok := x.vectors[id]; ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// DeleteByIDs removes ids.
func (x *Index) DeleteByIDs(_ context.Context, ids []string) (int, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, id := range ids {
		if _, ok := x.vectors[id]; ok {
			delete(x.vectors, id)
			n++
		}
	}
	return n, nil
}

// Info reports the dimensions and count.
func (x *Index) Info(context.Context) (providers.IndexInfo, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return providers.IndexInfo{Dimensions: x.Dimensions, Metric: "cosine", Count: len(x.vectors)}, nil
}

// Close does nothing.
func (x *Index) Close() error { return nil }

func matches(meta, filter map[string]any) bool {
	for k, want := range filter {
		if !reflect.DeepEqual(meta[k], want) {
			return false
		}
	}
	return true
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

func overlap(query, text string) float64 {
	words := map[string]bool{}
	for _, w := range strings.Fields(strings.ToLower(text)) {
		words[w] = true
	}
	n := 0
	for _, w := range strings.Fields(strings.ToLower(query)) {
		if words[w] {
			n++
		}
	}
	return float64(n)
}
