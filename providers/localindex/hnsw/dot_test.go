package hnsw

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDot checks the kernel against a float64 sum for every length up to 80 (each
// path: 64-float steps, 16-float steps, the masked tail) and at 384 and 768, with
// unaligned starts.
func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]float32, 2*800+2)
	for i := range buf {
		buf[i] = float32(r.NormFloat64())
	}
	lengths := []int{384, 768, 1000 - 201}
	for n := 1; n <= 80; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for _, off := range []int{0, 1} {
			a, b := buf[off:off+n], buf[800+off:800+off+n]
			var want float64
			for i := range a {
				want += float64(a[i]) * float64(b[i])
			}
			if got := Dot(a, b); math.Abs(float64(got)-want) > 1e-4*math.Max(1, math.Abs(want)) {
				t.Errorf("Dot of %d floats at offset %d = %v, want %v", n, off, got, want)
			}
		}
	}
	if got := Dot(nil, nil); got != 0 {
		t.Errorf("Dot(nil, nil) = %v", got)
	}
}

// BenchmarkDot is one 384-dimensional dot product on cached data.
func BenchmarkDot(b *testing.B) {
	base, _ := clustered(1, 64, 0, 10, 384, 1.0)
	q := base.vec(0)
	var s float32
	i := 0
	for b.Loop() {
		s += Dot(q, base.vec(uint32(i&63)))
		i++
	}
	_ = s
}
