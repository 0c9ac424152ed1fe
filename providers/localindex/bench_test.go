package localindex

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/viterin/vek/vek32"

	"github.com/aiflow/aiflow/providers"
)

// dotGo is the plain loop vek32.Dot replaces.
func dotGo(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

var sink float32

// BenchmarkDot compares the SIMD dot product with a pure-Go loop, per vector pair.
func BenchmarkDot(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, dim := range []int{384, 768} {
		x, y := randVec(r, dim), randVec(r, dim)
		b.Run(fmt.Sprintf("vek32/%d", dim), func(b *testing.B) {
			b.SetBytes(int64(8 * dim))
			for b.Loop() {
				sink += vek32.Dot(x, y)
			}
		})
		b.Run(fmt.Sprintf("go/%d", dim), func(b *testing.B) {
			b.SetBytes(int64(8 * dim))
			for b.Loop() {
				sink += dotGo(x, y)
			}
		})
	}
}

// benchIndex fills an index with n vectors around n/100 cluster centres, in batches of
// 1000, and returns it with 256 held-out queries from the same clusters.
func benchIndex(b *testing.B, n, dim int, ann string) (*Index, []providers.Vector) {
	b.Helper()
	spec := testSpec(dim, metricCosine)
	spec.ANN = ann
	x := mustOpen(b, b.TempDir(), spec)
	r := rand.New(rand.NewPCG(2, 2))
	cs := centres(r, max(1, n/100), dim)
	for i := 0; i < n; i += 1000 {
		vs := clusteredVectors(r, cs, fmt.Sprintf("b%d-", i), min(1000, n-i), 1.0)
		mustUpsert(b, x, vs)
	}
	return x, clusteredVectors(r, cs, "q", 256, 1.0)
}

// BenchmarkExactSearch is one top-10 query scanning every vector; bytes/s is the scan rate.
func BenchmarkExactSearch(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("%dx768", n), func(b *testing.B) {
			x, qs := benchIndex(b, n, 768, "")
			q := qs[0].Values
			b.SetBytes(int64(n * 768 * 4))
			b.ResetTimer()
			for b.Loop() {
				if _, err := x.Query(ctx, providers.VectorQuery{Vector: q, TopK: 10}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHNSWSearch is one top-10 graph query at the default efSearch over 20,000
// clustered vectors, with held-out queries from the same clusters.
func BenchmarkHNSWSearch(b *testing.B) {
	x, qs := benchIndex(b, 20000, 384, "hnsw")
	i := 0
	for b.Loop() {
		if _, err := x.Query(ctx, providers.VectorQuery{Vector: qs[i%len(qs)].Values, TopK: 10}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkUpsert writes batches of 100 new 768-dimensional vectors, fsync included.
func BenchmarkUpsert(b *testing.B) {
	x := mustOpen(b, b.TempDir(), testSpec(768, metricCosine))
	r := rand.New(rand.NewPCG(5, 5))
	batch := randVectors(r, "u", 100, 768)
	b.SetBytes(100 * 768 * 4)
	n := 0
	for b.Loop() {
		for i := range batch {
			batch[i].ID = fmt.Sprintf("u%d", n)
			n++
		}
		mustUpsert(b, x, batch)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "vectors/s")
}
