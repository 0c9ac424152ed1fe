package localindex

import (
	"context"
	"runtime"
	"sync"

	"github.com/viterin/vek/vek32"
)

// parallelMinFloats is the slab size (in float32s) from which exact search is sharded
// over GOMAXPROCS goroutines; below it one goroutine is faster.
const parallelMinFloats = 1 << 19

// keyFunc returns the higher-is-better score of a stored vector for a query.
func keyFunc(metric string) func(q, v []float32) float32 {
	if metric == metricEuclidean {
		return func(q, v []float32) float32 { return -vek32.Distance(q, v) }
	}
	return vek32.Dot // cosine (both unit length) and dot-product
}

// exact scans every live slot that accept admits (nil admits all) and returns the k
// best, best first. The caller holds c.mu for reading.
func (c *core) exact(ctx context.Context, q []float32, k int, accept func(uint32) bool) ([]hit, error) {
	n := c.st.slots()
	shards := min(runtime.GOMAXPROCS(0), (n+pageSlots-1)/pageSlots)
	if n*c.p.dim < parallelMinFloats || shards < 2 {
		t := newTopK(k)
		if err := c.scan(ctx, q, 0, n, t, accept); err != nil {
			return nil, err
		}
		return t.drain(), nil
	}
	pages := (n + pageSlots - 1) / pageSlots
	tops := make([]*topK, shards)
	errs := make([]error, shards)
	var wg sync.WaitGroup
	for s := range shards {
		lo, hi := s*pages/shards*pageSlots, min(n, (s+1)*pages/shards*pageSlots)
		tops[s] = newTopK(k)
		wg.Go(func() { errs[s] = c.scan(ctx, q, lo, hi, tops[s], accept) })
	}
	wg.Wait()
	t := newTopK(k)
	for s := range shards {
		if errs[s] != nil {
			return nil, errs[s]
		}
		for _, h := range tops[s].h {
			t.push(h.slot, h.key)
		}
	}
	return t.drain(), nil
}

// scan feeds slots [lo, hi) into t, one page at a time; filters run before scoring.
func (c *core) scan(ctx context.Context, q []float32, lo, hi int, t *topK, accept func(uint32) bool) error {
	st, dim, key := c.st, c.p.dim, keyFunc(c.p.metric)
	for p := lo >> pageBits; p<<pageBits < hi; p++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		page := st.pages[p]
		first, last := max(lo, p<<pageBits), min(hi, (p+1)<<pageBits)
		for slot := first; slot < last; slot++ {
			if !st.live[slot] || accept != nil && !accept(uint32(slot)) {
				continue
			}
			off := (slot & pageMask) * dim
			t.push(uint32(slot), key(q, page[off:off+dim]))
		}
	}
	return nil
}
