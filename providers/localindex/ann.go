package localindex

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/viterin/vek/vek32"

	"github.com/aiflow/aiflow/providers/localindex/hnsw"
)

const graphMagic = "aiflow-vector-graph"

// graphMark is the log position a saved graph reflects: snapshot generation and the log
// offset up to which every record was in the graph.
type graphMark struct {
	gen uint64
	off int64
}

// annStats counts graph searches and their fallbacks to exact search.
type annStats struct{ searches, fallbacks atomic.Int64 }

// distFunc is the HNSW dissimilarity for the metric: lower is closer. Dot products use
// hnsw.Dot, the AVX-512 kernel where the CPU has it.
func distFunc(metric string) hnsw.DistanceFunc {
	switch metric {
	case metricEuclidean:
		return vek32.Distance
	case metricDot:
		return func(a, b []float32) float32 { return -hnsw.Dot(a, b) }
	}
	return func(a, b []float32) float32 { return 1 - hnsw.Dot(a, b) }
}

func (c *core) newGraph() *hnsw.Graph {
	return hnsw.New(c.graphConfig(), c.st.vec, distFunc(c.p.metric))
}

func (c *core) graphConfig() hnsw.Config {
	return hnsw.Config{M: c.p.m, EfConstruction: c.p.efBuild, Seed: 1}
}

// loadGraph reads hnsw.graph if it was saved for this snapshot generation; a missing,
// stale or damaged graph is not an error, it is rebuilt.
func (c *core) loadGraph() {
	f, err := os.Open(filepath.Join(c.dir, graphName))
	if err != nil {
		return
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	mark, err := c.readGraphHeader(br)
	if err != nil || mark.gen != c.gen {
		return
	}
	g, err := hnsw.Read(br, c.graphConfig(), c.st.vec, distFunc(c.p.metric))
	if err != nil {
		return
	}
	c.graph, c.graphMark = g, mark
}

func (c *core) readGraphHeader(r io.Reader) (graphMark, error) {
	var hdr [frameHeader]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return graphMark{}, err
	}
	n, _, ok := checkFrame(hdr[:], 1<<12)
	if !ok {
		return graphMark{}, errors.New("bad graph header")
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return graphMark{}, err
	}
	d := decoder{b: p}
	magic, gen, off, dim, metric := d.str(), d.uvarint(), d.uvarint(), d.uvarint(), d.str()
	if d.done() != nil || magic != graphMagic || int(dim) != c.p.dim || metric != c.p.metric {
		return graphMark{}, errors.New("graph is for another index")
	}
	return graphMark{gen, int64(off)}, nil
}

// saveGraph writes the graph with the current log position. The caller holds writeMu, so
// the graph reflects every applied record.
func (c *core) saveGraph() error {
	var e encoder
	start := len(e.b)
	e.b = append(e.b, make([]byte, frameHeader)...)
	e.str(graphMagic)
	e.uvarint(c.gen)
	e.uvarint(uint64(c.log.size))
	e.uvarint(uint64(c.p.dim))
	e.str(c.p.metric)
	e.end(start)
	err := replaceFile(filepath.Join(c.dir, graphName), func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		bw.Write(e.b)
		if _, err := c.graph.WriteTo(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("index %q: saving hnsw graph: %w", c.name(), err)
	}
	c.graphMark, c.graphDirty = graphMark{c.gen, c.log.size}, false
	return nil
}

// attachGraph finishes opening an hnsw index after the log replay: it brings a loaded
// graph up to date with the records after its mark, or builds one from scratch.
func (c *core) attachGraph() {
	if c.graph != nil && c.graphMark.off <= c.log.size && c.graph.Bound() <= c.st.slots() {
		c.graph.Grow(c.st.slots())
		c.applyGraph(dedupeSlots(c.replayDirty))
		c.graphDirty = len(c.replayDirty) > 0
	} else {
		c.graph = c.newGraph()
		c.graph.Grow(c.st.slots())
		var live []uint32
		for slot, ok := range c.st.live {
			if ok {
				live = append(live, uint32(slot))
			}
		}
		c.applyGraph(live)
		c.graphDirty = true
	}
	c.replayDirty = nil
}

// applyGraph inserts or relinks slots in parallel. Vectors must not change meanwhile.
func (c *core) applyGraph(slots []uint32) {
	g := c.graph
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(1, len(slots)/64)) {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(slots)) {
					return
				}
				if s := slots[i]; g.Has(s) {
					g.Update(s)
				} else {
					g.Insert(s)
				}
			}
		})
	}
	wg.Wait()
}

func dedupeSlots(s []uint32) []uint32 {
	seen := make(map[uint32]bool, len(s))
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// annSearch queries the graph. Filters are applied during the walk, under a budget of
// distance evaluations worth about one scan (half the slots: a graph evaluation costs some
// two contiguous ones); ok is false when the budget ran out or fewer than k results
// survived, and the caller falls back to exact search.
func (c *core) annSearch(q []float32, k int, accept func(uint32) bool) ([]hit, bool) {
	st := c.st
	live := st.live
	admit := func(id uint32) bool { return int(id) < len(live) && live[id] && (accept == nil || accept(id)) }
	ef := max(c.p.efSearch, k)
	if accept != nil {
		ef = max(ef, 2*k)
	}
	res, complete := c.graph.Search(q, hnsw.SearchOptions{K: k, Ef: ef, Accept: admit, MaxEvals: max(st.slots()/2, 64*ef)})
	c.annStats.searches.Add(1)
	if !complete || len(res) < k && len(res) < st.count {
		c.annStats.fallbacks.Add(1)
		return nil, false
	}
	key := keyFunc(c.p.metric)
	hits := make([]hit, len(res))
	for i, r := range res {
		hits[i] = hit{r.ID, key(q, st.vec(r.ID))}
	}
	return hits, true
}
