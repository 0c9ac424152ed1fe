package vectorize

import (
	"context"
	"fmt"
	"sync"

	"github.com/aiflow/aiflow/providers"
)

// Index is an open Vectorize index. It is safe for concurrent use. Reads see only the
// writes Vectorize has processed; see the package documentation on eventual consistency.
type Index struct {
	b      *Backend
	name   string
	dims   int
	metric string
	opts   options

	mu      sync.Mutex
	indexed map[string]string // metadata indexes, as of Open
	issued  []string          // mutation ids this Index queued, oldest first
}

// maxIssued bounds the remembered mutation ids.
const maxIssued = 4096

// ensure checks (and with create, makes) the index and its metadata indexes.
func (x *Index) ensure(ctx context.Context, spec providers.IndexSpec, create bool) error {
	want := indexConfig{dims: spec.Dimensions, metric: spec.Metric}
	got, err := x.b.api.get(ctx, x.name)
	switch {
	case isNotFound(err) && create:
		if err := x.b.api.create(ctx, x.name, x.opts.description, want); err != nil {
			return fmt.Errorf("creating: %w", err)
		}
		got = want
	case isNotFound(err):
		return fmt.Errorf("does not exist in the Cloudflare account; create it with `aiflow apply`")
	case err != nil:
		return fmt.Errorf("reading: %w", err)
	}
	if got != want {
		return fmt.Errorf("has %d dimensions and metric %s but the flow declares %d and %s; Vectorize cannot change an index's configuration, so delete and recreate it",
			got.dims, got.metric, want.dims, want.metric)
	}
	return x.ensureMeta(ctx, spec.MetadataIndexes, create)
}

// ensureMeta creates the missing metadata indexes (with create) and waits for them.
func (x *Index) ensureMeta(ctx context.Context, want map[string]string, create bool) error {
	have, err := x.b.api.listMeta(ctx, x.name)
	if err != nil {
		return fmt.Errorf("listing metadata indexes: %w", err)
	}
	last := ""
	for _, prop := range sortedKeys(want) {
		typ, ok := have[prop]
		switch {
		case ok && typ != want[prop]:
			return fmt.Errorf("metadata index %q has type %s but the flow declares %s; delete it in Cloudflare first (vectors written since keep the old index)", prop, typ, want[prop])
		case ok:
			continue
		case !create:
			return fmt.Errorf("metadata index %q is missing; create it with `aiflow apply`", prop)
		}
		if last, err = x.b.api.createMeta(ctx, x.name, prop, want[prop]); err != nil {
			return fmt.Errorf("creating metadata index %q: %w", prop, err)
		}
		x.note(last)
		have[prop] = want[prop]
	}
	x.indexed = have
	if last == "" {
		return nil
	}
	timeout := x.opts.wait
	if timeout == 0 {
		timeout = DefaultWait
	}
	return x.waitFor(ctx, last, timeout)
}

// Upsert validates every vector, sends them as NDJSON in batches (see batch_size), and
// with wait_for_mutation waits until Vectorize has processed the last batch. It returns
// how many vectors Vectorize accepted; on a failed batch, those of the batches before it.
func (x *Index) Upsert(ctx context.Context, vectors []providers.Vector) (int, error) {
	lines := make([][]byte, len(vectors))
	for i, v := range vectors {
		line, err := encodeVector(v, x.dims)
		if err != nil {
			return 0, fmt.Errorf("vectorize index %q: upsert: %w", x.name, err)
		}
		lines[i] = line
	}
	batches := splitBatches(lines, x.opts.batchSize)
	last := ""
	for i, bt := range batches {
		id, err := x.b.api.upsert(ctx, x.name, bt.body)
		if err != nil {
			return bt.from, fmt.Errorf("vectorize index %q: upserting batch %d of %d (vectors %d to %d): %w",
				x.name, i+1, len(batches), bt.from, bt.to-1, err)
		}
		x.note(id)
		last = id
	}
	if err := x.settle(ctx, last); err != nil {
		return len(vectors), err
	}
	return len(vectors), nil
}

// GetByIDs returns the processed vectors among ids, in the order of ids, each once;
// missing ids are left out. Vector.Text is always empty.
func (x *Index) GetByIDs(ctx context.Context, ids []string) ([]providers.Vector, error) {
	ids, err := distinctIDs(ids)
	if err != nil {
		return nil, fmt.Errorf("vectorize index %q: get: %w", x.name, err)
	}
	found := make(map[string]wireVector, len(ids))
	for from := 0; from < len(ids); from += getChunk {
		got, err := x.b.api.getByIDs(ctx, x.name, ids[from:min(from+getChunk, len(ids))])
		if err != nil {
			return nil, fmt.Errorf("vectorize index %q: getting vectors: %w", x.name, err)
		}
		for _, v := range got {
			found[v.ID] = v
		}
	}
	out := make([]providers.Vector, 0, len(found))
	for _, id := range ids {
		if v, ok := found[id]; ok {
			out = append(out, providers.Vector{ID: v.ID, Values: v.Values, Metadata: v.Metadata, Namespace: v.Namespace})
		}
	}
	return out, nil
}

// DeleteByIDs queues the deletion of ids and, with wait_for_mutation, waits until it is
// processed. It returns the number of distinct ids sent: Vectorize does not report how
// many of them existed.
func (x *Index) DeleteByIDs(ctx context.Context, ids []string) (int, error) {
	ids, err := distinctIDs(ids)
	if err != nil {
		return 0, fmt.Errorf("vectorize index %q: delete: %w", x.name, err)
	}
	last := ""
	for from := 0; from < len(ids); from += deleteChunk {
		id, err := x.b.api.deleteByIDs(ctx, x.name, ids[from:min(from+deleteChunk, len(ids))])
		if err != nil {
			return from, fmt.Errorf("vectorize index %q: deleting vectors: %w", x.name, err)
		}
		x.note(id)
		last = id
	}
	if err := x.settle(ctx, last); err != nil {
		return len(ids), err
	}
	return len(ids), nil
}

// distinctIDs checks ids and drops repeats, keeping the first occurrence.
func distinctIDs(ids []string) ([]string, error) {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if err := checkID(id); err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// Info reports the index's dimensions, metric, processed vector count and metadata indexes.
func (x *Index) Info(ctx context.Context) (providers.IndexInfo, error) {
	info, err := x.b.info(ctx, x.name, x.metric)
	if err != nil {
		return providers.IndexInfo{}, fmt.Errorf("vectorize index %q: info: %w", x.name, err)
	}
	x.mu.Lock()
	x.indexed = info.MetadataIndexes
	x.mu.Unlock()
	return info, nil
}

// Close releases nothing but idle connections: the index holds no other resources.
func (x *Index) Close() error { return x.b.Close() }
