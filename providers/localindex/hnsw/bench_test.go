package hnsw

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkBuild inserts 10,000 clustered 384-dimensional vectors (M 16, efConstruction
// 200) on GOMAXPROCS goroutines.
func BenchmarkBuild(b *testing.B) {
	base, _ := clustered(1, 10000, 0, 100, 384, 1.0)
	for b.Loop() {
		build(base, Config{M: 16, EfConstruction: 200})
	}
	b.ReportMetric(float64(base.n()*b.N)/b.Elapsed().Seconds(), "inserts/s")
}

// BenchmarkSearch is one top-10 query over 10,000 clustered 384-dimensional vectors at
// each ef, reporting recall@10 against exact search and distance evaluations per query
// beside the time, so that a faster query is not bought with recall.
func BenchmarkSearch(b *testing.B) {
	base, qs := clustered(1, 10000, 256, 100, 384, 1.0)
	g := build(base, Config{M: 16, EfConstruction: 200})
	truth := make([][]uint32, qs.n())
	for i := range truth {
		truth[i] = exactTop(base, qs.vec(uint32(i)), 10, nil)
	}
	for _, ef := range []int{16, 32, 64, 128} {
		b.Run(fmt.Sprintf("ef=%d", ef), func(b *testing.B) {
			var recall float64
			var evals atomic.Int64
			g.dist = countingDist(&evals)
			for i := range qs.n() {
				res, _ := g.Search(qs.vec(uint32(i)), SearchOptions{K: 10, Ef: ef})
				recall += recallAt(res, truth[i])
			}
			g.dist = cosineDist
			i := 0
			for b.Loop() {
				g.Search(qs.vec(uint32(i%qs.n())), SearchOptions{K: 10, Ef: ef})
				i++
			}
			b.ReportMetric(recall/float64(qs.n()), "recall@10")
			b.ReportMetric(float64(evals.Load())/float64(qs.n()), "evals/query")
		})
	}
}
