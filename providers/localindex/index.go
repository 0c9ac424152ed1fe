package localindex

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/aiflow/aiflow/providers"
)

// Index is an open local vector index. It is safe for concurrent use. Several Index
// values opened on the same directory in one process share one in-memory index; the
// directory is released when the last of them is closed.
type Index struct {
	c      *core
	closed atomic.Bool
}

// registry maps absolute directories to the cores open in this process: the flock on a
// directory belongs to the process, so every opener must share it. opening holds a
// channel per directory being opened, closed when the attempt ends; a slow open (an HNSW
// rebuild) blocks only openers of the same directory.
var registry = struct {
	mu      sync.Mutex
	cores   map[string]*core
	opening map[string]chan struct{}
}{cores: map[string]*core{}, opening: map[string]chan struct{}{}}

// Open opens the index stored in dir, creating it when dir holds none. The spec's
// dimensions and metric must match an existing index; its metadata indexes replace the
// recorded ones. Open replays the log, truncating a write torn by a crash.
func Open(dir string, spec providers.IndexSpec) (*Index, error) {
	p, err := parseSpec(spec, nil)
	if err != nil {
		return nil, err
	}
	return openIndex(dir, p, true)
}

func openIndex(dir string, p params, create bool) (*Index, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("index %q: %w", p.name, err)
	}
	for {
		registry.mu.Lock()
		if c, ok := registry.cores[abs]; ok {
			defer registry.mu.Unlock()
			if err := p.checkOpen(c.p); err != nil {
				return nil, err
			}
			c.refs++
			return &Index{c: c}, nil
		}
		if wait, ok := registry.opening[abs]; ok {
			registry.mu.Unlock()
			<-wait
			continue
		}
		done := make(chan struct{})
		registry.opening[abs] = done
		registry.mu.Unlock()
		c, err := openCore(abs, p, create)
		registry.mu.Lock()
		delete(registry.opening, abs)
		if err == nil {
			c.refs = 1
			registry.cores[abs] = c
		}
		registry.mu.Unlock()
		close(done)
		if err != nil {
			return nil, err
		}
		return &Index{c: c}, nil
	}
}

// openCoreFor returns the core open on dir in this process, if any.
func openCoreFor(dir string) *core {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	return registry.cores[abs]
}

// Upsert inserts or replaces vectors by id and returns how many it wrote. The batch is
// validated first (dimensions, finite values, ids, JSON metadata) and rejected as a whole
// on any error. When Upsert returns a nil error the batch has been fsynced to the log; an
// error that says "the write is durable" means the batch was kept but the compaction that
// followed failed. Within a batch, a later vector with the same id wins. Vectors whose
// id already holds exactly the same values, text, namespace and metadata count as
// written but are not logged again, so re-running an unchanged ingest leaves the log as
// it was.
func (x *Index) Upsert(ctx context.Context, vectors []providers.Vector) (int, error) {
	if x.closed.Load() {
		return 0, errClosed
	}
	return x.c.upsert(ctx, vectors)
}

// Query returns the best matches, best first. Mode vector (the default) ranks by the
// index metric: Score is the cosine similarity, the dot product, or the euclidean distance
// (lower is closer). Mode keyword ranks by BM25 over the stored text, Score normalised
// by the query's self-score to [0, 1]; mode hybrid ranks by the convex combination of the
// vector similarity (clamped to [0, 1]) and that keyword score, so Score is in [0, 1] and
// comparable across queries (see keyword.go). Namespace, when set,
// restricts the search to that namespace; Filter applies Vectorize's metadata operators
// before scoring. TopK defaults to 5. Matches always carry the namespace and stored text;
// metadata and values only on request.
func (x *Index) Query(ctx context.Context, q providers.VectorQuery) ([]providers.Match, error) {
	if x.closed.Load() {
		return nil, errClosed
	}
	return x.c.query(ctx, q)
}

// DeleteByIDs deletes the given ids and returns how many of them existed. When it
// returns a nil error the delete is durable.
func (x *Index) DeleteByIDs(ctx context.Context, ids []string) (int, error) {
	if x.closed.Load() {
		return 0, errClosed
	}
	return x.c.deleteIDs(ctx, ids)
}

// GetByIDs returns the stored vectors among ids, in the order asked, each id once.
// Values of a cosine index equal the written ones to within float32 rounding.
func (x *Index) GetByIDs(ctx context.Context, ids []string) ([]providers.Vector, error) {
	if x.closed.Load() {
		return nil, errClosed
	}
	return x.c.get(ctx, ids)
}

// Info reports the index's dimensions, metric, live vector count and metadata indexes.
func (x *Index) Info(ctx context.Context) (providers.IndexInfo, error) {
	if x.closed.Load() {
		return providers.IndexInfo{}, errClosed
	}
	if err := ctx.Err(); err != nil {
		return providers.IndexInfo{}, err
	}
	return x.c.info()
}

// Compact writes a fresh snapshot and empties the log. It runs by itself when the log
// grows past the snapshot; calling it is only needed to bound the next open's replay.
func (x *Index) Compact() error {
	if x.closed.Load() {
		return errClosed
	}
	x.c.writeMu.Lock()
	defer x.c.writeMu.Unlock()
	if x.c.closed {
		return errClosed
	}
	return x.c.compact()
}

// Close releases this handle; the last handle on a directory closes the index. Close is
// idempotent.
func (x *Index) Close() error {
	if !x.closed.CompareAndSwap(false, true) {
		return nil
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	c := x.c
	if c.refs--; c.refs > 0 {
		return nil
	}
	delete(registry.cores, c.dir)
	return c.close()
}
