package hnsw

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/viterin/vek/vek32"
)

// dataset is a flat store of unit vectors.
type dataset struct {
	dim  int
	data []float32
}

func (d *dataset) vec(id uint32) []float32 {
	o := int(id) * d.dim
	return d.data[o : o+d.dim : o+d.dim]
}

func (d *dataset) n() int { return len(d.data) / d.dim }

func cosineDist(a, b []float32) float32 { return 1 - vek32.Dot(a, b) }

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	n := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= n
	}
}

// clustered draws n points and q queries around k Gaussian centres, all unit length.
func clustered(seed uint64, n, q, k, dim int, spread float64) (base, queries *dataset) {
	r := rand.New(rand.NewPCG(seed, 7))
	centres := make([]float32, k*dim)
	for i := range centres {
		centres[i] = float32(r.NormFloat64())
	}
	draw := func(count int) *dataset {
		d := &dataset{dim: dim, data: make([]float32, count*dim)}
		for i := range count {
			c := r.IntN(k)
			v := d.vec(uint32(i))
			for j := range v {
				v[j] = centres[c*dim+j] + float32(spread*r.NormFloat64())
			}
			normalize(v)
		}
		return d
	}
	return draw(n), draw(q)
}

// build inserts every vector of d in parallel.
func build(d *dataset, cfg Config) *Graph {
	g := New(cfg, d.vec, cosineDist)
	g.Grow(d.n())
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(d.n()) {
					return
				}
				g.Insert(uint32(i))
			}
		})
	}
	wg.Wait()
	return g
}

// exactTop returns the k nearest ids of q in d among those keep admits (nil: all).
func exactTop(d *dataset, q []float32, k int, keep func(uint32) bool) []uint32 {
	type hd struct {
		id uint32
		d  float32
	}
	var all []hd
	for i := range d.n() {
		if keep == nil || keep(uint32(i)) {
			all = append(all, hd{uint32(i), cosineDist(q, d.vec(uint32(i)))})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].d < all[j].d })
	out := make([]uint32, 0, k)
	for _, h := range all[:min(k, len(all))] {
		out = append(out, h.id)
	}
	return out
}

// recallAt is |got ∩ want| / |want|.
func recallAt(got []Result, want []uint32) float64 {
	if len(want) == 0 {
		return 1
	}
	in := map[uint32]bool{}
	for _, w := range want {
		in[w] = true
	}
	hit := 0
	for _, g := range got {
		if in[g.ID] {
			hit++
		}
	}
	return float64(hit) / float64(len(want))
}
