package localindex

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/aiflow/aiflow/providers"
)

// refScore is the metric computed in float64 from the values as written.
func refScore(metric string, q, v []float32) float64 {
	var dot, qq, vv, dd float64
	for i := range q {
		a, b := float64(q[i]), float64(v[i])
		dot += a * b
		qq += a * a
		vv += b * b
		dd += (a - b) * (a - b)
	}
	switch metric {
	case metricCosine:
		return dot / math.Sqrt(qq*vv)
	case metricEuclidean:
		return math.Sqrt(dd)
	}
	return dot
}

type refHit struct {
	id    string
	score float64
}

// refSearch is brute-force search over vs with an optional predicate.
func refSearch(metric string, vs []providers.Vector, q []float32, k int, keep func(providers.Vector) bool) []refHit {
	var hits []refHit
	for _, v := range vs {
		if keep == nil || keep(v) {
			hits = append(hits, refHit{v.ID, refScore(metric, q, v.Values)})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if metric == metricEuclidean {
			return hits[i].score < hits[j].score
		}
		return hits[i].score > hits[j].score
	})
	return hits[:min(k, len(hits))]
}

func toRef(ms []providers.Match) []refHit {
	out := make([]refHit, len(ms))
	for i, m := range ms {
		out[i] = refHit{m.ID, m.Score}
	}
	return out
}

var cmpHits = cmp.Options{
	cmp.AllowUnexported(refHit{}),
	cmpopts.EquateApprox(0, 1e-4),
	cmpopts.EquateEmpty(),
}

func TestExactSearchMatchesBruteForce(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    int
		dim  int
	}{
		{"small", 500, 24},
		{"sharded", 6000, 128}, // over parallelMinFloats: scanned by GOMAXPROCS goroutines
	} {
		for _, metric := range []string{metricCosine, metricEuclidean, metricDot} {
			t.Run(tt.name+"/"+metric, func(t *testing.T) {
				r := rand.New(rand.NewPCG(31, uint64(tt.n)))
				x := mustOpen(t, t.TempDir(), testSpec(tt.dim, metric))
				vs := randVectors(r, "v", tt.n, tt.dim)
				mustUpsert(t, x, vs)
				for range 10 {
					q := randVec(r, tt.dim)
					got, err := x.Query(ctx, providers.VectorQuery{Vector: q, TopK: 10})
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(refSearch(metric, vs, q, 10, nil), toRef(got), cmpHits); diff != "" {
						t.Fatalf("(-brute force +index):\n%s", diff)
					}
				}
			})
		}
	}
}

func TestNamespaceAndFilterRestrictSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	x := mustOpen(t, t.TempDir(), testSpec(16, metricCosine))
	vs := randVectors(r, "v", 900, 16)
	mustUpsert(t, x, vs)
	x.DeleteByIDs(ctx, []string{"v1", "v2", "v4"})
	live := vs[5:]
	tests := []struct {
		name   string
		ns     string
		filter map[string]any
		keep   func(providers.Vector) bool
	}{
		{"namespace", "a", nil, func(v providers.Vector) bool { return v.Namespace == "a" }},
		{"filter", "", map[string]any{"tag": "t3", "i": map[string]any{"$lt": 500}}, func(v providers.Vector) bool {
			return v.Metadata["tag"] == "t3" && v.Metadata["i"].(float64) < 500
		}},
		{"namespace and filter", "b", map[string]any{"even": true}, func(v providers.Vector) bool {
			return v.Namespace == "b" && v.Metadata["even"] == true
		}},
		{"nothing matches", "", map[string]any{"tag": "none"}, func(providers.Vector) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := randVec(r, 16)
			got, err := x.Query(ctx, providers.VectorQuery{Vector: q, TopK: 20, Namespace: tt.ns, Filter: tt.filter, ReturnMetadata: true})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(refSearch(metricCosine, live, q, 20, tt.keep), toRef(got), cmpHits); diff != "" {
				t.Errorf("(-brute force +index):\n%s", diff)
			}
		})
	}
}

func TestQueryReturnsRequestedFields(t *testing.T) {
	x := mustOpen(t, t.TempDir(), testSpec(3, metricCosine))
	v := providers.Vector{ID: "a", Values: []float32{3, 0, 4}, Metadata: map[string]any{"k": "v"}, Namespace: "n", Text: "hello"}
	mustUpsert(t, x, []providers.Vector{v})
	tests := []struct {
		name string
		q    providers.VectorQuery
		want providers.Match
	}{
		{"ids and scores", providers.VectorQuery{Vector: []float32{3, 0, 4}}, providers.Match{ID: "a", Score: 1, Namespace: "n", Text: "hello"}},
		{"with metadata and values", providers.VectorQuery{Vector: []float32{0, 1, 0}, ReturnMetadata: true, ReturnValues: true},
			providers.Match{ID: "a", Score: 0, Namespace: "n", Text: "hello", Metadata: map[string]any{"k": "v"}, Values: []float32{3, 0, 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := x.Query(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]providers.Match{tt.want}, got, cmpVectors, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	x := mustOpen(t, t.TempDir(), testSpec(4, metricCosine))
	v := []float32{1, 2, 3, 4}
	tests := []struct {
		name string
		q    providers.VectorQuery
		want string
	}{
		{"dimension mismatch", providers.VectorQuery{Vector: []float32{1}}, "query vector has 1 dimensions, expected 4"},
		{"negative topK", providers.VectorQuery{Vector: v, TopK: -1}, "topK must be positive"},
		{"unknown mode", providers.VectorQuery{Vector: v, Mode: "fuzzy"}, `unknown query mode "fuzzy" (allowed: vector, keyword, hybrid)`},
		{"keyword without text", providers.VectorQuery{Mode: providers.ModeKeyword}, "keyword query needs text"},
		{"hybrid without text", providers.VectorQuery{Mode: providers.ModeHybrid, Vector: v}, "hybrid query needs text"},
		{"hybrid without vector", providers.VectorQuery{Mode: providers.ModeHybrid, Text: "a"}, "query vector has 0 dimensions"},
		{"bad filter", providers.VectorQuery{Vector: v, Filter: map[string]any{"a": map[string]any{"$like": "x"}}}, `unknown operator "$like"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := x.Query(ctx, tt.q)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
