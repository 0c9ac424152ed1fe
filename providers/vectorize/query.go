package vectorize

import (
	"context"
	"fmt"
	"math"

	"github.com/aiflow/aiflow/providers"
)

// Query returns the nearest neighbours of q.Vector among the processed vectors, best first:
// highest score for cosine and dot-product, smallest distance for euclidean. Only vector
// mode exists in Vectorize. ReturnMetadata asks for all of each match's metadata
// (returnMetadata "all"), which with ReturnValues lowers Vectorize's topK limit from 100 to
// 50. A namespace restricts the search before the filter applies.
func (x *Index) Query(ctx context.Context, q providers.VectorQuery) ([]providers.Match, error) {
	req, err := x.checkQuery(q)
	if err != nil {
		return nil, fmt.Errorf("vectorize index %q: query: %w", x.name, err)
	}
	got, err := x.b.api.query(ctx, x.name, req)
	if err != nil {
		return nil, fmt.Errorf("vectorize index %q: querying: %w", x.name, err)
	}
	out := make([]providers.Match, len(got))
	for i, m := range got {
		out[i] = providers.Match{ID: m.ID, Score: m.Score, Namespace: m.Namespace}
		if q.ReturnMetadata {
			out[i].Metadata = m.Metadata
		}
		if q.ReturnValues {
			out[i].Values = m.Values
		}
	}
	return out, nil
}

// checkQuery applies Vectorize's rules before anything is sent.
func (x *Index) checkQuery(q providers.VectorQuery) (queryRequest, error) {
	switch q.Mode {
	case "", providers.ModeVector:
	case providers.ModeKeyword, providers.ModeHybrid:
		return queryRequest{}, fmt.Errorf("%s search is not supported by Vectorize, which only does vector search; use an index with backend: local, which offers keyword and hybrid search", q.Mode)
	default:
		return queryRequest{}, fmt.Errorf("unknown search mode %q (Vectorize supports %s)", q.Mode, providers.ModeVector)
	}
	if len(q.Vector) != x.dims {
		return queryRequest{}, fmt.Errorf("query vector has %d dimensions, the index has %d", len(q.Vector), x.dims)
	}
	for i, v := range q.Vector {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return queryRequest{}, fmt.Errorf("query vector value %d is %v", i, v)
		}
	}
	k, err := topK(q)
	if err != nil {
		return queryRequest{}, err
	}
	x.mu.Lock()
	indexed := x.indexed
	x.mu.Unlock()
	if err := checkFilter(q.Filter, indexed); err != nil {
		return queryRequest{}, err
	}
	if len(q.Namespace) > MaxNameBytes {
		return queryRequest{}, fmt.Errorf("namespace is %d bytes, Vectorize's limit is %d", len(q.Namespace), MaxNameBytes)
	}
	return queryRequest{vector: q.Vector, topK: k, values: q.ReturnValues, metadata: q.ReturnMetadata,
		filter: q.Filter, namespace: q.Namespace}, nil
}

// topK applies the default of 5 and the limits of 100, or 50 with values or metadata.
func topK(q providers.VectorQuery) (int, error) {
	k := q.TopK
	switch {
	case k == 0:
		return defaultTopK, nil
	case k < 0:
		return 0, fmt.Errorf("topK must be positive, got %d", k)
	case (q.ReturnValues || q.ReturnMetadata) && k > MaxTopKWithValues:
		return 0, fmt.Errorf("topK %d: Vectorize returns at most %d matches with values or metadata (%d without); lower top_k or stop returning metadata and values", k, MaxTopKWithValues, MaxTopK)
	case k > MaxTopK:
		return 0, fmt.Errorf("topK %d: Vectorize returns at most %d matches", k, MaxTopK)
	}
	return k, nil
}
