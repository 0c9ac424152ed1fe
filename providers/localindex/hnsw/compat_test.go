package hnsw

import (
	"os"
	"testing"
)

// TestReadVersion1 opens testdata/graph-v1.bin, a graph of 400 clustered 16-dimensional
// vectors (M 8, efConstruction 64, inserted in id order) written by the format-1 code
// before lock-free search. Indexes saved by earlier releases must keep opening, and
// searching them must still find every vector.
func TestReadVersion1(t *testing.T) {
	base, _ := clustered(31, 400, 0, 20, 16, 1.0)
	f, err := os.Open("testdata/graph-v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := Read(f, Config{M: 8}, base.vec, cosineDist)
	if err != nil {
		t.Fatalf("reading a version-1 graph: %v", err)
	}
	if g.Len() != base.n() || g.Bound() != base.n() {
		t.Errorf("Len = %d, Bound = %d, want %d", g.Len(), g.Bound(), base.n())
	}
	if got := selfHits(g, base, allIDs(base.n())); got != base.n() {
		t.Errorf("self top-1 in the loaded graph: %d of %d", got, base.n())
	}
	// The loaded graph accepts new nodes like a built one.
	more, _ := clustered(32, 50, 0, 20, 16, 1.0)
	all := &dataset{dim: 16, data: append(append([]float32(nil), base.data...), more.data...)}
	f.Seek(0, 0)
	if g, err = Read(f, Config{M: 8}, all.vec, cosineDist); err != nil {
		t.Fatal(err)
	}
	g.Grow(all.n())
	for id := base.n(); id < all.n(); id++ {
		g.Insert(uint32(id))
	}
	if got := selfHits(g, all, allIDs(all.n())); got != all.n() {
		t.Errorf("self top-1 after inserting into the loaded graph: %d of %d", got, all.n())
	}
}
