package hnsw

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func meanRecall(t *testing.T, g *Graph, base, qs *dataset, ef int, accept func(uint32) bool) float64 {
	t.Helper()
	var sum float64
	for i := range qs.n() {
		q := qs.vec(uint32(i))
		res, _ := g.Search(q, SearchOptions{K: 10, Ef: ef, Accept: accept})
		sum += recallAt(res, exactTop(base, q, 10, accept))
	}
	return sum / float64(qs.n())
}

func selfHits(g *Graph, d *dataset, ids []uint32) int {
	n := 0
	for _, id := range ids {
		res, _ := g.Search(d.vec(id), SearchOptions{K: 1, Ef: 64})
		if len(res) == 1 && res[0].ID == id {
			n++
		}
	}
	return n
}

func allIDs(n int) []uint32 {
	ids := make([]uint32, n)
	for i := range ids {
		ids[i] = uint32(i)
	}
	return ids
}

func TestRecall(t *testing.T) {
	n := 5000
	if raceEnabled {
		n = 1500
	}
	tests := []struct {
		name     string
		clusters int
		spread   float64
		dim      int
	}{
		{"clustered", n / 20, 1.0, 64},
		{"unclustered", 1, 1.0, 32}, // one centre: isotropic noise, the hard case
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, qs := clustered(3, n, 100, tt.clusters, tt.dim, tt.spread)
			g := build(base, Config{M: 16, EfConstruction: 200})
			if g.Len() != n {
				t.Fatalf("Len = %d, want %d", g.Len(), n)
			}
			if got := meanRecall(t, g, base, qs, 64, nil); got < 0.95 {
				t.Errorf("recall@10 at ef 64 = %.4f, want ≥ 0.95", got)
			}
			half := func(id uint32) bool { return id%2 == 0 }
			if got := meanRecall(t, g, base, qs, 64, half); got < 0.95 {
				t.Errorf("recall@10 with a filter admitting half = %.4f, want ≥ 0.95", got)
			}
			if got := selfHits(g, base, allIDs(n)); !enoughSelfHits(got, n) {
				t.Errorf("self top-1: %d of %d", got, n)
			}
		})
	}
}

func TestUpdateRelinksMovedVectors(t *testing.T) {
	n := 4000
	if raceEnabled {
		n = 1200
	}
	base, qs := clustered(5, n, 100, n/20, 48, 1.0)
	g := build(base, Config{M: 16, EfConstruction: 200})
	// Move every third vector somewhere else in the distribution.
	moved, _ := clustered(6, n, 0, n/20, 48, 1.0)
	var ids []uint32
	for id := uint32(0); id < uint32(n); id += 3 {
		copy(base.vec(id), moved.vec(id))
		ids = append(ids, id)
	}
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < len(ids); i += 2 {
				g.Update(ids[i])
			}
		})
	}
	wg.Wait()
	if g.Len() != n {
		t.Errorf("Len = %d after updates, want %d", g.Len(), n)
	}
	if got := selfHits(g, base, ids); !enoughSelfHits(got, len(ids)) {
		t.Errorf("self top-1 of moved vectors: %d of %d", got, len(ids))
	}
	if got := meanRecall(t, g, base, qs, 64, nil); got < 0.95 {
		t.Errorf("recall@10 after updates = %.4f", got)
	}
}

func TestConcurrentInsertAndSearch(t *testing.T) {
	n := 3000
	if raceEnabled {
		n = 800
	}
	base, _ := clustered(9, n, 0, 50, 32, 1.0)
	g := New(Config{M: 8, EfConstruction: 64}, base.vec, cosineDist)
	g.Grow(n)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < n; i += 2 {
				g.Insert(uint32(i))
			}
		})
	}
	// Searches read link lists without locks while the inserts and relinks above rewrite
	// them; under -race this checks that every read is ordered after the write it sees.
	var searches sync.WaitGroup
	for w := range 2 {
		searches.Go(func() {
			r := rand.New(rand.NewPCG(1, uint64(w)))
			for range 200 {
				res, _ := g.Search(base.vec(uint32(r.IntN(n))), SearchOptions{K: 5, Ef: 32})
				seen := map[uint32]bool{}
				for i, x := range res {
					if i > 0 && x.Dist < res[i-1].Dist || seen[x.ID] || int(x.ID) >= n {
						t.Errorf("results out of order, repeated or out of range: %v", res)
						return
					}
					seen[x.ID] = true
				}
			}
		})
	}
	wg.Go(func() { // relink early nodes while others are still being inserted
		for i := 0; i < n/4; i += 7 {
			if g.Has(uint32(i)) {
				g.Update(uint32(i))
			}
		}
	})
	searches.Wait()
	wg.Wait()
	if got := selfHits(g, base, allIDs(n)); !enoughSelfHits(got, n) {
		t.Errorf("self top-1 after concurrent build: %d of %d", got, n)
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	base, qs := clustered(11, 2000, 20, 100, 32, 1.0)
	g := build(base, Config{M: 12, EfConstruction: 100})
	var buf bytes.Buffer
	if _, err := g.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	h, err := Read(bytes.NewReader(data), Config{M: 12}, base.vec, cosineDist)
	if err != nil {
		t.Fatal(err)
	}
	if h.Len() != g.Len() {
		t.Errorf("Len = %d, want %d", h.Len(), g.Len())
	}
	for i := range qs.n() {
		opts := SearchOptions{K: 10, Ef: 50}
		want, _ := g.Search(qs.vec(uint32(i)), opts)
		got, _ := h.Search(qs.vec(uint32(i)), opts)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("query %d after reload (-before +after):\n%s", i, diff)
		}
	}
	tests := []struct {
		name string
		data []byte
		cfg  Config
		want string
	}{
		{"other M", data, Config{M: 16}, "graph has M=12, want 16"},
		{"flipped bit", flip(data, len(data)/2), Config{M: 12}, ""},
		{"truncated", data[:len(data)-3], Config{M: 12}, ""},
		{"not a graph", bytes.Repeat([]byte("not a graph "), 10), Config{M: 12}, "not an hnsw graph"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tt.data), tt.cfg, base.vec, cosineDist)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x10
	return c
}

func TestSearchEdges(t *testing.T) {
	base, _ := clustered(13, 300, 0, 10, 16, 1.0)
	g := New(Config{}, base.vec, cosineDist)
	g.Grow(300)
	if res, ok := g.Search(base.vec(0), SearchOptions{K: 3}); res != nil || !ok {
		t.Errorf("empty graph: %v, %v", res, ok)
	}
	g.Insert(7)
	if res, _ := g.Search(base.vec(0), SearchOptions{K: 3}); len(res) != 1 || res[0].ID != 7 {
		t.Errorf("single node: %v", res)
	}
	g.Update(7)
	g.Update(8) // not in the graph: inserted
	if !g.Has(8) || g.Has(9) || g.Len() != 2 || g.Bound() != 9 {
		t.Errorf("after Update of a new id: Has(8)=%v Has(9)=%v Len=%d Bound=%d", g.Has(8), g.Has(9), g.Len(), g.Bound())
	}
	for i := uint32(0); i < 300; i++ {
		if !g.Has(i) {
			g.Insert(i)
		}
	}
	if _, complete := g.Search(base.vec(1), SearchOptions{K: 10, Ef: 100, MaxEvals: 5}); complete {
		t.Error("a 5-evaluation budget did not cut the search short")
	}
	none := func(uint32) bool { return false }
	if res, _ := g.Search(base.vec(1), SearchOptions{K: 10, Accept: none}); len(res) != 0 {
		t.Errorf("accept rejecting everything returned %v", res)
	}
}

// enoughSelfHits says whether got of n vectors finding themselves first is good enough.
// Parallel inserts link the graph in an order the scheduler picks, so on a loaded machine
// a rare vector ends up reachable only through a worse path (seen: 4,999 of 5,000). One
// miss in a thousand is allowed, none below a thousand vectors.
func enoughSelfHits(got, n int) bool { return got >= n-n/1000 }
