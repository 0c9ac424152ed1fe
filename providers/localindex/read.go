package localindex

import (
	"context"
	"maps"

	"github.com/aiflow/aiflow/providers"
)

// get returns the stored vectors for ids; see Index.GetByIDs.
func (c *core) get(ctx context.Context, ids []string) ([]providers.Vector, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, errClosed
	}
	seen := map[string]bool{}
	var out []providers.Vector
	for _, id := range ids {
		slot, ok := c.st.byID[id]
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, providers.Vector{
			ID:        id,
			Values:    c.st.values(slot, c.p.metric == metricCosine),
			Metadata:  copyMeta(c.st.meta[slot]),
			Namespace: c.st.ns[slot],
			Text:      c.st.text[slot],
		})
	}
	return out, nil
}

// info describes the index; see Index.Info.
func (c *core) info() (providers.IndexInfo, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return providers.IndexInfo{}, errClosed
	}
	return providers.IndexInfo{
		Dimensions:      c.p.dim,
		Metric:          c.p.metric,
		Count:           c.st.count,
		MetadataIndexes: maps.Clone(c.p.mdIdx),
	}, nil
}
