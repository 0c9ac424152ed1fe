package hnsw

import (
	"cmp"
	"slices"
	"sync/atomic"
)

// cand is a node and its distance to the current query.
type cand struct {
	d  float32
	id uint32
}

func sortCands(cs []cand) {
	slices.SortFunc(cs, func(a, b cand) int {
		if c := cmp.Compare(a.d, b.d); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
}

// minHeap pops the nearest candidate; maxHeap pops the farthest result.
type (
	minHeap []cand
	maxHeap []cand
)

func (h *minHeap) push(c cand) {
	*h = append(*h, c)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p].d <= a[i].d {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *minHeap) pop() cand {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		m, l := i, 2*i+1
		if l < len(a) && a[l].d < a[m].d {
			m = l
		}
		if r := l + 1; r < len(a) && a[r].d < a[m].d {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

func (h *maxHeap) push(c cand) {
	*h = append(*h, c)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p].d >= a[i].d {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *maxHeap) pop() cand {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		m, l := i, 2*i+1
		if l < len(a) && a[l].d > a[m].d {
			m = l
		}
		if r := l + 1; r < len(a) && a[r].d > a[m].d {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

// searcher holds one goroutine's scratch space; graphs pool them.
type searcher struct {
	g        *Graph
	marks    []uint16
	epoch    uint16
	cands    minHeap
	res      maxHeap
	nbuf     []uint32
	vbuf     [][]float32
	sink     float32
	out      []cand
	eps      []cand
	ws       [][]cand // per-layer candidates of the node being linked
	scratch  []cand
	selected []cand
	linked   []cand // the new node's links in link
}

// touch loads the first cache lines of every vector about to be scored. The loads are
// independent, so the memory system serves them in parallel instead of one miss per
// distance; the hardware prefetcher then streams the rest of each vector.
func (s *searcher) touch() {
	var t float32
	for _, v := range s.vbuf {
		t += v[0]
		if len(v) > 16 {
			t += v[16]
		}
	}
	s.sink = t
}

// resetVisited starts a new visited set covering the graph's capacity.
func (s *searcher) resetVisited() {
	if n := s.g.capacity(); len(s.marks) < n {
		s.marks = make([]uint16, n)
		s.epoch = 0
	}
	s.epoch++
	if s.epoch == 0 {
		clear(s.marks)
		s.epoch = 1
	}
}

// visit marks id and reports whether it was new.
func (s *searcher) visit(id uint32) bool {
	if s.marks[id] == s.epoch {
		return false
	}
	s.marks[id] = s.epoch
	return true
}

// greedy walks layer lc towards q from cur until no neighbour is closer.
func (s *searcher) greedy(q []float32, cur cand, lc int) cand {
	g := s.g
	for changed := true; changed; {
		changed = false
		l := g.block(cur.id, lc)
		cnt := min(int(atomic.LoadUint32(&l[0])), len(l)-1)
		for j := 1; j <= cnt; j++ {
			n := atomic.LoadUint32(&l[j])
			if d := g.dist(q, g.vec(n)); d < cur.d {
				cur, changed = cand{d, n}, true
			}
		}
	}
	return cur
}

// searchLayer is Algorithm 2: a best-first search of layer lc keeping the ef nearest
// results that accept admits (nil admits all) and that are not exclude (-1 for none).
// budget > 0 caps the distance evaluations; the second result is false when the cap cut
// the search short. Results come back nearest first in s.out, valid until the searcher's
// next search. Link lists are read without locks (see block).
func (s *searcher) searchLayer(q []float32, eps []cand, ef, lc int, accept func(uint32) bool, exclude int64, budget int) ([]cand, bool) {
	g := s.g
	s.resetVisited()
	s.cands, s.res = s.cands[:0], s.res[:0]
	for _, e := range eps {
		if s.visit(e.id) {
			s.cands.push(e)
			if int64(e.id) != exclude && (accept == nil || accept(e.id)) {
				s.res.push(e)
			}
		}
	}
	for len(s.res) > ef {
		s.res.pop()
	}
	complete, evals := true, 0
	marks, epoch := s.marks, s.epoch
	for len(s.cands) > 0 {
		c := s.cands.pop()
		if len(s.res) >= ef && c.d > s.res[0].d {
			break
		}
		if budget > 0 && evals >= budget {
			complete = false
			break
		}
		l := g.block(c.id, lc)
		cnt := min(int(atomic.LoadUint32(&l[0])), len(l)-1)
		fresh, vs := s.nbuf[:0], s.vbuf[:0]
		for j := 1; j <= cnt; j++ {
			n := atomic.LoadUint32(&l[j])
			if marks[n] != epoch {
				marks[n] = epoch
				fresh = append(fresh, n)
				vs = append(vs, g.vec(n))
			}
		}
		s.nbuf, s.vbuf = fresh, vs
		s.touch()
		for k, n := range fresh {
			evals++
			d := g.dist(q, vs[k])
			if len(s.res) < ef || d < s.res[0].d {
				s.cands.push(cand{d, n})
				if int64(n) != exclude && (accept == nil || accept(n)) {
					s.res.push(cand{d, n})
					if len(s.res) > ef {
						s.res.pop()
					}
				}
			}
		}
	}
	out := s.out[:0]
	if cap(out) < len(s.res) {
		out = make([]cand, 0, max(len(s.res), ef))
	}
	out = out[:len(s.res)]
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = s.res.pop()
	}
	s.out = out
	return out, complete
}

// SearchOptions shapes a query.
type SearchOptions struct {
	K  int // results wanted
	Ef int // candidate list size; raised to K when smaller
	// Accept, when set, admits ids into the results; the walk still passes through
	// rejected nodes, so filtered and deleted entries keep the graph navigable.
	Accept func(id uint32) bool
	// MaxEvals, when positive, caps distance evaluations on layer 0.
	MaxEvals int
}

// Result is one neighbour.
type Result struct {
	ID   uint32
	Dist float32
}

// Search returns up to K nearest accepted nodes, nearest first. complete is false when
// MaxEvals stopped the search early.
func (g *Graph) Search(q []float32, o SearchOptions) (res []Result, complete bool) {
	g.epMu.RLock()
	ep, top := g.entry, g.topLevel
	g.epMu.RUnlock()
	if top < 0 || o.K <= 0 {
		return nil, true
	}
	s := g.searcher.Get().(*searcher)
	defer g.searcher.Put(s)
	cur := cand{g.dist(q, g.vec(ep)), ep}
	for lc := top; lc > 0; lc-- {
		cur = s.greedy(q, cur, lc)
	}
	s.eps = append(s.eps[:0], cur)
	w, complete := s.searchLayer(q, s.eps, max(o.Ef, o.K), 0, o.Accept, -1, o.MaxEvals)
	res = make([]Result, min(o.K, len(w)))
	for i := range res {
		res[i] = Result{w[i].id, w[i].d}
	}
	return res, complete
}
