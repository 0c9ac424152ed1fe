package localindex

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aiflow/aiflow/providers/localindex/bm25"
	"github.com/aiflow/aiflow/providers/localindex/hnsw"
)

// compactMin is the smallest log that compaction rewrites; below it replay is cheap.
const compactMin = 64 << 20

// graphName is the persisted HNSW graph.
const graphName = "hnsw.graph"

// core is one open index directory, shared by every Index handle in the process.
type core struct {
	dir      string
	p        params
	lockFile *os.File
	refs     int // guarded by registry.mu

	// writeMu serialises writers for a whole write (log append, apply, graph update), so
	// the log order is the apply order. Readers never take it.
	writeMu sync.Mutex
	enc     encoder
	scratch []float32
	metaBuf [][]byte

	// mu guards the fields below. Writers hold it exclusively only to apply a batch.
	mu  sync.RWMutex
	st  *store
	kw  *bm25.Index
	log *wal

	// HNSW state, nil graph for exact indexes. graphMark is the log position the saved
	// graph file reflects; replayDirty collects slots whose vectors changed after it.
	graph       *hnsw.Graph
	graphMark   graphMark
	graphDirty  bool
	replayDirty []uint32
	annStats    annStats
	gen         uint64
	snapSize    int64
	closed      bool
}

var errClosed = errors.New("local index is closed")

func (c *core) name() string {
	if c.p.name != "" {
		return c.p.name
	}
	return filepath.Base(c.dir)
}

func notFound(name string) error {
	return fmt.Errorf("index %q does not exist: %w", name, fs.ErrNotExist)
}

// openCore opens or creates the index in dir and replays its log.
func openCore(dir string, p params, create bool) (*core, error) {
	if _, exists, err := readMeta(dir); err != nil {
		return nil, err
	} else if !exists && !create {
		return nil, notFound(p.name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating index directory: %w", err)
	}
	lf, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	c := &core{dir: dir, p: p, lockFile: lf}
	if err := c.load(create); err != nil {
		if c.log != nil {
			c.log.close()
		}
		lf.Close()
		return nil, err
	}
	return c, nil
}

// load reads meta.json, the snapshot and the log, holding the directory lock.
func (c *core) load(create bool) error {
	m, exists, err := readMeta(c.dir)
	if err != nil {
		return err
	}
	c.st = newStore(c.p.dim)
	if !exists {
		if !create {
			return notFound(c.p.name)
		}
		c.kw = bm25.New()
		if c.p.ann {
			c.graph = c.newGraph()
		}
		return c.initDir()
	}
	if err := c.p.checkMeta(m); err != nil {
		return err
	}
	if !maps.Equal(m.MetadataIndexes, c.p.mdIdx) {
		if err := writeMeta(c.dir, c.p); err != nil {
			return err
		}
	}
	info, err := loadSnapshot(c.dir, c.p.metric, c.st)
	if err != nil {
		return err
	}
	c.gen, c.snapSize = info.gen, info.size
	if err := c.openLog(); err != nil {
		return err
	}
	if c.p.ann {
		c.loadGraph()
	}
	if err := c.log.replay(c.replayRecord); err != nil {
		return err
	}
	c.trimBuffers()
	c.buildKeywords()
	if c.p.ann {
		c.attachGraph()
	}
	return nil
}

// initDir turns dir into an empty index. meta.json is written last: without it the
// directory does not count as an index, so a crash here is retried from scratch.
func (c *core) initDir() error {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return fmt.Errorf("reading index directory: %w", err)
	}
	for _, e := range entries {
		if n := e.Name(); n != "LOCK" && (n == snapName || n == walName || n == graphName || strings.HasSuffix(n, ".tmp")) {
			if err := os.Remove(filepath.Join(c.dir, n)); err != nil {
				return fmt.Errorf("clearing index directory: %w", err)
			}
		}
	}
	if c.log, err = createWAL(c.dir, 0, c.p.dim); err != nil {
		return err
	}
	return writeMeta(c.dir, c.p)
}

// openLog opens the log; a log older than the snapshot is what an interrupted compaction
// leaves behind, and everything in it is already in the snapshot.
func (c *core) openLog() error {
	log, err := openWAL(c.dir, c.p.dim)
	if err != nil {
		return err
	}
	switch {
	case log.gen < c.gen:
		log.close()
		log, err = createWAL(c.dir, c.gen, c.p.dim)
		if err != nil {
			return err
		}
	case log.gen > c.gen:
		log.close()
		return fmt.Errorf("log %s has generation %d but the snapshot only %d", log.path, log.gen, c.gen)
	}
	c.log = log
	return nil
}

// replayRecord applies one log record during open.
func (c *core) replayRecord(p []byte, end int64) error {
	d := &decoder{b: p[1:]}
	switch p[0] {
	case recUpsert:
		es, err := getUpsert(d, c.p.dim, &c.scratch)
		if err != nil {
			return err
		}
		for i := range es {
			if slot, vecChanged, _ := c.st.put(&es[i]); vecChanged && c.graph != nil && end > c.graphMark.off {
				c.replayDirty = append(c.replayDirty, slot)
			}
		}
	case recDelete:
		ids, err := getDelete(d)
		if err != nil {
			return err
		}
		for _, id := range ids {
			c.st.remove(id)
		}
	default:
		return fmt.Errorf("unknown record type %q", p[0])
	}
	return nil
}

// compact writes a snapshot of the current state and starts an empty log. The caller
// holds writeMu; readers carry on meanwhile.
func (c *core) compact() error {
	c.mu.RLock()
	size, err := writeSnapshot(c.dir, c.gen+1, c.p.metric, c.st)
	c.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("index %q: %w", c.name(), err)
	}
	log, err := createWAL(c.dir, c.gen+1, c.p.dim)
	if err != nil {
		return fmt.Errorf("index %q: %w", c.name(), err)
	}
	c.mu.Lock()
	old := c.log
	c.log, c.gen, c.snapSize = log, c.gen+1, size
	c.mu.Unlock()
	old.close()
	if c.graph != nil {
		return c.saveGraph()
	}
	return nil
}

// maybeCompact compacts once the log outgrows the snapshot.
func (c *core) maybeCompact() error {
	if c.log.size < compactMin || c.log.size < c.snapSize {
		return nil
	}
	if err := c.compact(); err != nil {
		return fmt.Errorf("the write is durable, but %w", err)
	}
	return nil
}

// close releases the index; the caller has made sure no handle uses it.
func (c *core) close() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var err error
	if c.graph != nil && c.graphDirty {
		err = c.saveGraph()
	}
	if lerr := c.log.close(); err == nil {
		err = lerr
	}
	if lerr := c.lockFile.Close(); err == nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("closing index %q: %w", c.name(), err)
	}
	return nil
}
