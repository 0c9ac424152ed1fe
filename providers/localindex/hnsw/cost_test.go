package hnsw

import (
	"sync/atomic"
	"testing"
)

// countingDist wraps cosineDist and counts its calls.
func countingDist(n *atomic.Int64) DistanceFunc {
	return func(a, b []float32) float32 {
		n.Add(1)
		return cosineDist(a, b)
	}
}

// TestBuildCost pins the distance evaluations of a serial build. Shrinking full lists by
// the heuristic alone (not topping them back up to full) keeps lists below capacity, so
// most new back-links are appends instead of another shrink.
func TestBuildCost(t *testing.T) {
	base, qs := clustered(21, 3000, 100, 60, 64, 1.0)
	var evals atomic.Int64
	g := New(Config{M: 16, EfConstruction: 200}, base.vec, countingDist(&evals))
	g.Grow(base.n())
	for i := range base.n() {
		g.Insert(uint32(i))
	}
	perInsert := float64(evals.Load()) / float64(base.n())
	// Measured 1,765 per insert; keeping every list full cost 2,891.
	if perInsert > 2000 {
		t.Errorf("%.0f distance evaluations per insert, want ≤ 2000", perInsert)
	}
	if got := meanRecall(t, g, base, qs, 32, nil); got < 0.97 {
		t.Errorf("recall@10 at ef 32 = %.4f, want ≥ 0.97", got)
	}
	if got := selfHits(g, base, allIDs(base.n())); got != base.n() {
		t.Errorf("self top-1: %d of %d", got, base.n())
	}
}

// TestSearchAllocs checks that a query allocates only its result slice: scratch space
// (visited set, heaps, candidate lists) comes from the pooled searcher.
func TestSearchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	base, qs := clustered(22, 2000, 10, 40, 32, 1.0)
	g := build(base, Config{M: 16, EfConstruction: 100})
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		g.Search(qs.vec(uint32(i%qs.n())), SearchOptions{K: 10, Ef: 64})
		i++
	})
	if allocs > 1 {
		t.Errorf("Search allocates %.1f times per query, want 1 (the results)", allocs)
	}
}
