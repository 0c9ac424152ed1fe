// Package hnsw is a hierarchical navigable small world graph (Malkov & Yashunin, "Efficient
// and robust approximate nearest neighbor search using Hierarchical Navigable Small World
// graphs", 2018) over vectors that the caller stores and addresses by uint32 id.
//
// Neighbours are chosen with the paper's heuristic (Algorithm 4, without candidate
// extension); a new node tops its own links up to M with the nearest candidates the
// heuristic skipped, while full lists shrink by the heuristic alone, as in hnswlib. Links
// live in fixed-size pages: layer 0 keeps up to 2·M links per node in one contiguous array
// per page, upper layers up to M. Writers lock the node whose list they change; searches
// take no locks and read lists with atomic loads (see block), so Insert, Update and Search
// may run concurrently from many goroutines; Grow and WriteTo need the graph to themselves. The graph never reads a vector while its owner rewrites it: callers
// change a vector only while no graph method runs, then call Update.
//
// Insert and Search cost roughly O(ef·M·log n) distance evaluations.
package hnsw

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// VectorFunc returns the vector stored under id.
type VectorFunc func(id uint32) []float32

// DistanceFunc returns a dissimilarity: lower is closer.
type DistanceFunc func(a, b []float32) float32

// Config tunes a graph.
type Config struct {
	M              int    // links per node on upper layers (layer 0 keeps 2·M); default 16
	EfConstruction int    // candidate list size when linking a node; default 200
	Seed           uint64 // level generator seed
}

const (
	pageBits = 10
	pageSize = 1 << pageBits
	pageMask = pageSize - 1
	maxLevel = 16
)

type page struct {
	level  [pageSize]int8 // -1: not in the graph
	links0 []uint32       // per node m0+1 words: count, then ids
	upper  [pageSize][]uint32
	locks  [pageSize]sync.Mutex
}

// Graph is an HNSW index over externally stored vectors.
type Graph struct {
	m, m0, efc int
	ml         float64
	vec        VectorFunc
	dist       DistanceFunc
	pages      []*page

	epMu     sync.RWMutex
	entry    uint32
	topLevel int // -1 when empty

	count    atomic.Int64
	rngMu    sync.Mutex
	rng      *rand.Rand
	searcher sync.Pool
}

// New returns an empty graph.
func New(cfg Config, vec VectorFunc, dist DistanceFunc) *Graph {
	if cfg.M <= 0 {
		cfg.M = 16
	}
	if cfg.EfConstruction <= 0 {
		cfg.EfConstruction = 200
	}
	g := &Graph{
		m: cfg.M, m0: 2 * cfg.M, efc: max(cfg.EfConstruction, cfg.M),
		ml: 1 / math.Log(float64(cfg.M)), vec: vec, dist: dist, topLevel: -1,
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)),
	}
	g.searcher.New = func() any { return &searcher{g: g} }
	return g
}

// Len is the number of nodes in the graph.
func (g *Graph) Len() int { return int(g.count.Load()) }

// Bound is one more than the highest id in the graph (0 when empty). It must not run
// concurrently with Insert or Update.
func (g *Graph) Bound() int {
	for id := g.capacity() - 1; id >= 0; id-- {
		if p, i := g.node(uint32(id)); p.level[i] >= 0 {
			return id + 1
		}
	}
	return 0
}

// Grow makes room for ids below n. It must not run concurrently with other methods.
func (g *Graph) Grow(n int) {
	for len(g.pages)*pageSize < n {
		p := &page{links0: make([]uint32, pageSize*(g.m0+1))}
		for i := range p.level {
			p.level[i] = -1
		}
		g.pages = append(g.pages, p)
	}
}

func (g *Graph) capacity() int { return len(g.pages) * pageSize }

func (g *Graph) node(id uint32) (*page, int) { return g.pages[id>>pageBits], int(id & pageMask) }

// Has reports whether id is in the graph.
func (g *Graph) Has(id uint32) bool {
	if int(id) >= g.capacity() {
		return false
	}
	p, i := g.node(id)
	p.locks[i].Lock()
	defer p.locks[i].Unlock()
	return p.level[i] >= 0
}

// list is id's layer-lc link block, count first; the caller holds id's lock.
func (g *Graph) list(p *page, i, lc int) []uint32 {
	if lc == 0 {
		return p.links0[i*(g.m0+1) : (i+1)*(g.m0+1)]
	}
	return p.upper[i][(lc-1)*(g.m+1) : lc*(g.m+1)]
}

func (g *Graph) maxLinks(lc int) int {
	if lc == 0 {
		return g.m0
	}
	return g.m
}

// neighbors copies id's layer-lc links into buf.
func (g *Graph) neighbors(id uint32, lc int, buf []uint32) []uint32 {
	p, i := g.node(id)
	p.locks[i].Lock()
	l := g.list(p, i, lc)
	buf = append(buf[:0], l[1:1+l[0]]...)
	p.locks[i].Unlock()
	return buf
}

// block is id's layer-lc link block for a lock-free reader: load the count, then each id,
// with readLinks. Writers hold id's lock and store with setLinks, ids first and the count
// last, so a reader sees the old list, the new one, or old ids beside new ones; every id
// in any of them names a node whose own lists were complete before it was published, so
// each is safe to visit. A node's upper block is allocated before the node is published
// (by the atomic store that links it, or under epMu as the entry point), which orders
// the read of p.upper[i] after the write.
func (g *Graph) block(id uint32, lc int) []uint32 {
	p, i := g.node(id)
	if lc == 0 {
		return p.links0[i*(g.m0+1) : (i+1)*(g.m0+1)]
	}
	return p.upper[i][(lc-1)*(g.m+1) : lc*(g.m+1)]
}

// setLinks publishes cs as id's layer-lc links; the caller holds id's lock.
func (g *Graph) setLinks(p *page, i, lc int, cs []cand) {
	l := g.list(p, i, lc)
	for j, c := range cs {
		atomic.StoreUint32(&l[1+j], c.id)
	}
	atomic.StoreUint32(&l[0], uint32(len(cs)))
}

func (g *Graph) randomLevel() int {
	g.rngMu.Lock()
	u := g.rng.Float64()
	g.rngMu.Unlock()
	return min(int(-math.Log(1-u)*g.ml), maxLevel)
}

// Insert adds id, whose vector must be readable, to the graph.
func (g *Graph) Insert(id uint32) {
	level := g.randomLevel()
	p, i := g.node(id)
	p.locks[i].Lock()
	p.level[i] = int8(level)
	p.upper[i] = nil
	if level > 0 {
		p.upper[i] = make([]uint32, level*(g.m+1))
	}
	atomic.StoreUint32(&p.links0[i*(g.m0+1)], 0)
	p.locks[i].Unlock()
	g.count.Add(1)
	g.link(id, level)
}

// Update relinks id after its vector changed, repairing the lists of its old neighbours
// first (as hnswlib's updatePoint does). An id not in the graph is inserted.
func (g *Graph) Update(id uint32) {
	p, i := g.node(id)
	p.locks[i].Lock()
	level := int(p.level[i])
	p.locks[i].Unlock()
	if level < 0 {
		g.Insert(id)
		return
	}
	s := g.searcher.Get().(*searcher)
	for lc := 0; lc <= level; lc++ {
		old := g.neighbors(id, lc, nil)
		for _, n := range old {
			g.repair(s, n, lc, old)
		}
	}
	g.searcher.Put(s)
	g.link(id, level)
}

// repair reselects n's layer-lc links from its current links and extra candidates.
func (g *Graph) repair(s *searcher, n uint32, lc int, extra []uint32) {
	p, i := g.node(n)
	p.locks[i].Lock()
	defer p.locks[i].Unlock()
	if int(p.level[i]) < lc {
		return
	}
	l := g.list(p, i, lc)
	vn := g.vec(n)
	cs := s.scratch[:0]
	add := func(e uint32) {
		for _, c := range cs {
			if c.id == e {
				return
			}
		}
		cs = append(cs, cand{g.dist(vn, g.vec(e)), e})
	}
	for _, e := range l[1 : 1+l[0]] {
		add(e)
	}
	for _, e := range extra {
		if e != n {
			add(e)
		}
	}
	sortCands(cs)
	g.setLinks(p, i, lc, g.selectNeighbors(s, cs, g.maxLinks(lc)))
	s.scratch = cs
}

// link connects id, whose level is set, from the current entry point down.
func (g *Graph) link(id uint32, level int) {
	g.epMu.RLock()
	ep, top := g.entry, g.topLevel
	g.epMu.RUnlock()
	if level > top {
		// A node that raises the top level becomes the entry point once linked; hold the
		// entry lock meanwhile so that concurrent inserts agree on a single entry point.
		g.epMu.Lock()
		if ep, top = g.entry, g.topLevel; level > top {
			defer func() {
				g.entry, g.topLevel = id, level
				g.epMu.Unlock()
			}()
			if top < 0 {
				return
			}
		} else {
			g.epMu.Unlock()
		}
	}
	s := g.searcher.Get().(*searcher)
	defer g.searcher.Put(s)
	q := g.vec(id)
	cur := cand{g.dist(q, g.vec(ep)), ep}
	for lc := top; lc > level; lc-- {
		cur = s.greedy(q, cur, lc)
	}
	// Search top-down, then link bottom-up: a node becomes reachable on a layer only once
	// every layer below it is linked, so a concurrent descent never lands on a node whose
	// lower-layer list is still empty.
	nl := min(level, top) + 1
	for len(s.ws) < nl {
		s.ws = append(s.ws, nil)
	}
	ws := s.ws[:nl]
	s.eps = append(s.eps[:0], cur)
	eps := s.eps
	for lc := len(ws) - 1; lc >= 0; lc-- {
		w, _ := s.searchLayer(q, eps, g.efc, lc, nil, int64(id), 0)
		ws[lc] = append(ws[lc][:0], w...)
		eps = ws[lc]
	}
	p, i := g.node(id)
	for lc, w := range ws {
		sel := g.fillPruned(s.linked[:0], w, g.selectNeighbors(s, w, g.m), g.m)
		s.linked = sel
		p.locks[i].Lock()
		g.setLinks(p, i, lc, sel)
		p.locks[i].Unlock()
		for _, n := range sel {
			g.addLink(s, n.id, id, lc, n.d)
		}
	}
}

// addLink adds id to n's layer-lc links, shrinking them by the heuristic when full.
func (g *Graph) addLink(s *searcher, n, id uint32, lc int, d float32) {
	p, i := g.node(n)
	p.locks[i].Lock()
	defer p.locks[i].Unlock()
	l := g.list(p, i, lc)
	cnt := int(l[0])
	for _, e := range l[1 : 1+cnt] {
		if e == id {
			return
		}
	}
	if cnt < g.maxLinks(lc) {
		atomic.StoreUint32(&l[1+cnt], id)
		atomic.StoreUint32(&l[0], uint32(cnt+1))
		return
	}
	vn := g.vec(n)
	cs := s.scratch[:0]
	for _, e := range l[1 : 1+cnt] {
		cs = append(cs, cand{g.dist(vn, g.vec(e)), e})
	}
	cs = append(cs, cand{d, id})
	sortCands(cs)
	// Shrink by the heuristic alone, as hnswlib does: topping shrunk lists back up to
	// full (as link does for a new node) keeps every list full, so every later addLink
	// to it pays for another shrink; that cost 60% more distance evaluations in the
	// build for no recall at a given search cost (10k × 384 clustered, M 16).
	g.setLinks(p, i, lc, g.selectNeighbors(s, cs, g.maxLinks(lc)))
	s.scratch = cs
}

// fillPruned tops sel up to m with the nearest candidates the heuristic skipped (the
// paper's keepPrunedConnections) for a new node's own links, appending to dst. Without it
// a node whose nearest neighbour "covers" every other candidate keeps a single link and,
// once that neighbour prunes it, no in-link at all; M links out give it M chances to
// keep an in-link (self-query top-1).
func (g *Graph) fillPruned(dst, cs, sel []cand, m int) []cand {
	out := append(dst, sel...)
	for _, c := range cs {
		if len(out) == m {
			break
		}
		if !containsCand(sel, c.id) {
			out = append(out, c)
		}
	}
	return out
}

func containsCand(cs []cand, id uint32) bool {
	for _, c := range cs {
		if c.id == id {
			return true
		}
	}
	return false
}

// selectNeighbors is the heuristic of Algorithm 4: walking candidates nearest first, keep
// one only if it is closer to the base than to every neighbour already kept. cs is sorted
// by distance to the base; the result aliases searcher memory.
func (g *Graph) selectNeighbors(s *searcher, cs []cand, m int) []cand {
	if len(cs) <= m {
		return cs
	}
	sel := s.selected[:0]
	for _, c := range cs {
		if len(sel) == m {
			break
		}
		vc := g.vec(c.id)
		keep := true
		for _, r := range sel {
			if g.dist(vc, g.vec(r.id)) < c.d {
				keep = false
				break
			}
		}
		if keep {
			sel = append(sel, c)
		}
	}
	s.selected = sel
	return sel
}
