package hnsw

import "testing"

// BenchmarkBuild inserts 10,000 clustered 384-dimensional vectors (M 16, efConstruction
// 200) on GOMAXPROCS goroutines.
func BenchmarkBuild(b *testing.B) {
	base, _ := clustered(1, 10000, 0, 100, 384, 1.0)
	for b.Loop() {
		build(base, Config{M: 16, EfConstruction: 200})
	}
	b.ReportMetric(float64(base.n()*b.N)/b.Elapsed().Seconds(), "inserts/s")
}

// BenchmarkSearch is one top-10 query at ef 64 over 10,000 clustered vectors.
func BenchmarkSearch(b *testing.B) {
	base, qs := clustered(1, 10000, 256, 100, 384, 1.0)
	g := build(base, Config{M: 16, EfConstruction: 200})
	i := 0
	for b.Loop() {
		g.Search(qs.vec(uint32(i%qs.n())), SearchOptions{K: 10, Ef: 64})
		i++
	}
}
