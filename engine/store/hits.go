package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"time"
)

// maxPendingHits bounds how many keys' hits wait in memory before CacheGet
// writes them out.
const maxPendingHits = 256

// hitQuery adds pending hits to an entry, kept in cache_hits beside it (an UPDATE of
// the cache row would rewrite its value). An entry deleted meanwhile gets none.
const hitQuery = `INSERT INTO cache_hits (key, hits, last_hit_at) SELECT key, CAST(? AS BIGINT), CAST(? AS BIGINT) FROM cache WHERE key = ?
	ON CONFLICT (key) DO UPDATE SET hits = cache_hits.hits + excluded.hits, last_hit_at = max(cache_hits.last_hit_at, excluded.last_hit_at)`

// hitBatch holds cache hits not yet written. Counting each hit with its own
// commit would triple the cost of a cache hit (a commit writes at least one
// page to the WAL; the read alone writes nothing), so hits are written in
// batches: when maxPendingHits keys have some, with any other write
// transaction (Store.update), before the cache is listed or cleared, and on
// Close. Hit counts are statistics: a killed process loses its pending ones.
type hitBatch struct {
	mu sync.Mutex
	m  map[string]pendingHit
}

type pendingHit struct {
	n    int
	last int64 // unix nanoseconds of the latest hit
}

// add records a hit on key and returns the hits pending for it and whether
// the batch is full.
func (h *hitBatch) add(key string, now time.Time) (pending int, full bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]pendingHit{}
	}
	p := h.m[key]
	p.n++
	p.last = max(p.last, unixNano(now))
	h.m[key] = p
	return p.n, len(h.m) >= maxPendingHits
}

func (h *hitBatch) empty() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.m) == 0
}

// forget drops the hits pending for key, whose entry was just replaced.
func (h *hitBatch) forget(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.m, key)
}

// take removes and returns everything pending.
func (h *hitBatch) take() map[string]pendingHit {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.m
	h.m = nil
	return m
}

// putBack returns hits taken for a transaction that did not commit.
func (h *hitBatch) putBack(m map[string]pendingHit) {
	if len(m) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]pendingHit{}
	}
	for k, p := range m {
		q := h.m[k]
		h.m[k] = pendingHit{n: q.n + p.n, last: max(q.last, p.last)}
	}
}

// applyHits writes hits inside tx.
func (s *Store) applyHits(ctx context.Context, tx *sql.Tx, hits map[string]pendingHit) error {
	if len(hits) == 0 {
		return nil
	}
	// Keys with the same count and time (a batch of for_each items looked up at once)
	// are counted in one statement per hitGroupBatch: one per key cost a cached
	// re-run of 1,000 items a thousand statements.
	groups := map[pendingHit][]any{}
	for k, p := range hits {
		groups[p] = append(groups[p], k)
	}
	var st *sql.Stmt
	for p, keys := range groups {
		for start := 0; start < len(keys); start += hitGroupBatch {
			part := keys[start:min(start+hitGroupBatch, len(keys))]
			if len(part) == 1 {
				if st == nil {
					var err error
					if st, err = s.txStmt(ctx, tx, hitQuery); err != nil {
						return err
					}
				}
				if _, err := st.ExecContext(ctx, p.n, p.last, part[0]); err != nil {
					return err
				}
				continue
			}
			q := `INSERT INTO cache_hits (key, hits, last_hit_at) SELECT key, CAST(? AS BIGINT), CAST(? AS BIGINT) FROM cache WHERE key IN (?` + strings.Repeat(",?", len(part)-1) + `)
	ON CONFLICT (key) DO UPDATE SET hits = cache_hits.hits + excluded.hits, last_hit_at = max(cache_hits.last_hit_at, excluded.last_hit_at)`
			if _, err := tx.ExecContext(ctx, q, append([]any{p.n, p.last}, part...)...); err != nil {
				return err
			}
		}
	}
	return nil
}

// hitGroupBatch bounds the keys one statement of applyHits counts.
const hitGroupBatch = 256

// flushHits writes pending hits in a transaction of their own.
func (s *Store) flushHits(ctx context.Context) error {
	if s.hits.empty() {
		return nil
	}
	return s.update(ctx, func(*sql.Tx) error { return nil })
}
