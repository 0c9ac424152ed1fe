package localindex

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/aiflow/aiflow/providers"
)

var ctx = context.Background()

func testSpec(dim int, metric string) providers.IndexSpec {
	return providers.IndexSpec{Name: "test", Backend: "local", Dimensions: dim, Metric: metric}
}

func mustOpen(t testing.TB, dir string, spec providers.IndexSpec) *Index {
	t.Helper()
	x, err := Open(dir, spec)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

func randVec(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// randVectors makes n vectors with ids prefix0…, two namespaces and small metadata.
func randVectors(r *rand.Rand, prefix string, n, dim int) []providers.Vector {
	vs := make([]providers.Vector, n)
	for i := range vs {
		vs[i] = providers.Vector{
			ID:        fmt.Sprintf("%s%d", prefix, i),
			Values:    randVec(r, dim),
			Metadata:  map[string]any{"i": float64(i), "even": i%2 == 0, "tag": fmt.Sprintf("t%d", i%5)},
			Namespace: []string{"", "a", "b"}[i%3],
			Text:      fmt.Sprintf("document number %d about topic %d", i, i%7),
		}
	}
	return vs
}

func mustUpsert(t testing.TB, x *Index, vs []providers.Vector) {
	t.Helper()
	n, err := x.Upsert(ctx, vs)
	if err != nil || n != len(vs) {
		t.Fatalf("Upsert = %d, %v; want %d, nil", n, err, len(vs))
	}
}

// closeTo reports whether a and b agree to within float32 rounding of unit-scale values.
func closeTo(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		d := float64(a[i] - b[i])
		if d < 0 {
			d = -d
		}
		m := float64(b[i])
		if m < 0 {
			m = -m
		}
		if d > 1e-5*(1+m) {
			return false
		}
	}
	return true
}
