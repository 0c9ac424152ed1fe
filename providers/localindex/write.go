package localindex

import (
	"context"
	"fmt"
	"math"

	"github.com/aiflow/aiflow/providers"
)

const maxIDBytes = 512

// upsert logs and applies one batch; see Index.Upsert.
func (c *core) upsert(ctx context.Context, vs []providers.Vector) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(vs) == 0 {
		return 0, nil
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.closed {
		return 0, errClosed
	}
	es, err := c.prepare(vs)
	if err != nil {
		return 0, err
	}
	defer c.trimBuffers()
	if es = c.dropUnchanged(es); len(es) == 0 {
		return len(vs), nil
	}
	c.enc.reset()
	c.enc.putUpsert(es, c.metaBuf)
	if len(c.enc.b) > maxFrame {
		return 0, fmt.Errorf("index %q: a batch of %d vectors encodes to %d MiB, over the %d MiB record limit; split it", c.name(), len(vs), len(c.enc.b)>>20, maxFrame>>20)
	}
	if err := c.log.append(c.enc.b); err != nil {
		return 0, fmt.Errorf("index %q: %w", c.name(), err)
	}
	c.mu.Lock()
	var dirty []uint32
	for i := range es {
		slot, vecChanged, textChanged := c.st.put(&es[i])
		if textChanged {
			c.kw.Set(slot, es[i].text)
		}
		if vecChanged && c.graph != nil {
			dirty = append(dirty, slot)
		}
	}
	if len(dirty) > 0 {
		c.graph.Grow(c.st.slots())
	}
	c.mu.Unlock()
	if len(dirty) > 0 {
		// Readers may search meanwhile; vectors only change under the exclusive lock.
		c.mu.RLock()
		c.applyGraph(dedupeSlots(dirty))
		c.graphDirty = true
		c.mu.RUnlock()
	}
	return len(vs), c.maybeCompact()
}

// dropUnchanged removes the entries whose id already holds exactly the same values,
// norm, namespace, text and metadata, keeping c.metaBuf in step: re-running an unchanged
// ingest then appends nothing to the log. An id that appears more than once in the batch
// is always written, since an earlier copy may change what a later one is compared with.
func (c *core) dropUnchanged(es []entry) []entry {
	seen := make(map[string]int, len(es))
	for i := range es {
		seen[es[i].id]++
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	keep := es[:0]
	meta := c.metaBuf[:0]
	for i := range es {
		if seen[es[i].id] == 1 && c.st.holds(&es[i]) {
			continue
		}
		keep = append(keep, es[i])
		meta = append(meta, c.metaBuf[i])
	}
	c.metaBuf = meta
	return keep
}

// keepBuffer is the largest write buffer kept between writes; a huge batch should not pin
// its size in memory for good.
const keepBuffer = 16 << 20

func (c *core) trimBuffers() {
	if cap(c.enc.b) > keepBuffer {
		c.enc.b = nil
	}
	if 4*cap(c.scratch) > keepBuffer {
		c.scratch = nil
	}
	c.metaBuf = nil
}

// prepare validates vs and converts them to entries whose values live in c.scratch.
func (c *core) prepare(vs []providers.Vector) ([]entry, error) {
	dim := c.p.dim
	if cap(c.scratch) < len(vs)*dim {
		c.scratch = make([]float32, len(vs)*dim)
	}
	c.metaBuf = make([][]byte, 0, len(vs))
	es := make([]entry, len(vs))
	for i, v := range vs {
		if err := c.checkVector(v); err != nil {
			return nil, err
		}
		mj, meta, err := encodeMeta(v.Metadata)
		if err != nil {
			return nil, fmt.Errorf("vector %q: %w", v.ID, err)
		}
		vals := c.scratch[i*dim : (i+1)*dim : (i+1)*dim]
		copy(vals, v.Values)
		norm := float32(1)
		if c.p.metric == metricCosine {
			norm = normalize(vals)
		}
		es[i] = entry{id: v.ID, ns: v.Namespace, text: v.Text, meta: meta, norm: norm, values: vals}
		c.metaBuf = append(c.metaBuf, mj)
	}
	return es, nil
}

func (c *core) checkVector(v providers.Vector) error {
	switch {
	case v.ID == "":
		return fmt.Errorf("index %q: vector with an empty id", c.name())
	case len(v.ID) > maxIDBytes:
		return fmt.Errorf("index %q: vector id %.40q… is %d bytes, the limit is %d", c.name(), v.ID, len(v.ID), maxIDBytes)
	case len(v.Values) != c.p.dim:
		return fmt.Errorf("index %q: vector %q has %d dimensions, expected %d", c.name(), v.ID, len(v.Values), c.p.dim)
	}
	for i, x := range v.Values {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("index %q: vector %q: value %d is %v", c.name(), v.ID, i, x)
		}
	}
	return nil
}

// normalize scales v to unit length in place and returns its original norm; a zero
// vector stays zero.
func normalize(v []float32) float32 {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	n := math.Sqrt(ss)
	if n == 0 {
		return 0
	}
	for i, x := range v {
		v[i] = float32(float64(x) / n)
	}
	return float32(n)
}

// deleteIDs logs and applies a delete of the ids that exist; see Index.DeleteByIDs.
func (c *core) deleteIDs(ctx context.Context, ids []string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.closed {
		return 0, errClosed
	}
	present := c.existing(ids)
	if len(present) == 0 {
		return 0, nil
	}
	c.enc.reset()
	c.enc.putDelete(present)
	if err := c.log.append(c.enc.b); err != nil {
		return 0, fmt.Errorf("index %q: %w", c.name(), err)
	}
	c.mu.Lock()
	for _, id := range present {
		if slot, ok := c.st.remove(id); ok {
			c.kw.Remove(slot) // the graph keeps the slot as a waypoint until it is reused
		}
	}
	c.mu.Unlock()
	return len(present), c.maybeCompact()
}

// existing returns the distinct ids present in the index, in order.
func (c *core) existing(ids []string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if _, ok := c.st.byID[id]; ok && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
