package vectorize_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// BenchmarkUpsert measures encoding, batching and uploading 1000 vectors of 768
// dimensions with metadata (one request) to the emulator over loopback.
func BenchmarkUpsert(b *testing.B) {
	cf := wiretest.NewCloudflare(b)
	x := open(b, newBackend(b, cf, nil), spec("kb", 768, "cosine", nil, nil))
	vs := make([]providers.Vector, 1000)
	for i := range vs {
		vs[i] = vec(fmt.Sprintf("doc-%d#0", i), unit(768, i), "source", fmt.Sprintf("doc-%d.md", i), "page", i%40)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := x.Upsert(context.Background(), vs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(vs))/b.Elapsed().Seconds(), "vectors/s")
}

// BenchmarkQuery measures one filtered top-10 query with metadata against 2000 vectors of
// 768 dimensions in the emulator (whose exact scan dominates).
func BenchmarkQuery(b *testing.B) {
	cf := wiretest.NewCloudflare(b)
	x := open(b, newBackend(b, cf, nil), spec("kb", 768, "cosine", map[string]string{"page": "number"}, nil))
	vs := make([]providers.Vector, 2000)
	for i := range vs {
		vs[i] = vec(fmt.Sprintf("doc-%d", i), unit(768, i), "page", i%40)
	}
	if _, err := x.Upsert(context.Background(), vs); err != nil {
		b.Fatal(err)
	}
	q := providers.VectorQuery{Vector: unit(768, 7), TopK: 10, ReturnMetadata: true,
		Filter: map[string]any{"page": map[string]any{"$lt": 20}}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := x.Query(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}
