package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CacheEntry is one cached step result, addressed by a key the engine derives
// from everything the result depends on.
type CacheEntry struct {
	Key       string // hex hash computed by the engine
	StepID    string
	Kind      string // step kind, e.g. "generate"
	Model     string
	Value     []byte     // nil in CacheList results
	CreatedAt time.Time  // zero means now, on CachePut
	ExpiresAt *time.Time // nil = forever
	Size      int        // len(Value), set by the store
	// Sum is the SHA-256 of Value, set by the store on reads once it has checked it:
	// a step record that stores this value can reference it without hashing it again.
	Sum  []byte
	Hits int // CacheGet hits so far, set by the store
}

// expired reports whether e has expired at now.
func (e CacheEntry) expired(now time.Time) bool {
	return e.ExpiresAt != nil && !now.Before(*e.ExpiresAt)
}

// corruptCounter names the counters row that CacheGet bumps when it drops an
// entry whose value no longer matches its checksum.
const corruptCounter = "cache_corrupt_dropped"

// CachePut stores e under e.Key, replacing any entry there (and resetting its
// hit count), with a SHA-256 checksum of the value.
func (s *Store) CachePut(ctx context.Context, e CacheEntry) error {
	if e.Key == "" {
		return fmt.Errorf("writing cache entry: %w: empty key", ErrInvalid)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	value := e.Value
	if value == nil {
		value = []byte{}
	}
	sum := sha256.Sum256(value)
	var expires any
	if e.ExpiresAt != nil {
		expires = unixNano(*e.ExpiresAt)
	}
	const q = `INSERT INTO cache (key, step_id, kind, model, value, sum, size, created_at, expires_at)
		VALUES (?,?,?,?,?,?,?,?,?)
		ON CONFLICT (key) DO UPDATE SET step_id = excluded.step_id, kind = excluded.kind,
			model = excluded.model, value = excluded.value, sum = excluded.sum, size = excluded.size,
			created_at = excluded.created_at, expires_at = excluded.expires_at`
	s.hits.forget(e.Key) // hits of the value replaced are not the new one's
	err := s.update(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, q, e.Key, e.StepID, e.Kind, e.Model, value, sum[:], len(value),
			unixNano(e.CreatedAt), expires); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM cache_hits WHERE key = ?`, e.Key) // a new value starts at no hits
		return err
	})
	if err != nil {
		return fmt.Errorf("writing cache entry %s: %w", e.Key, err)
	}
	return nil
}

// CacheGet returns the entry under key if it exists, has not expired at now,
// and its value still matches the checksum written with it. An entry that
// fails the check (bit rot, truncation, a hand edit) is deleted and reported
// as a miss, and counted in CacheStats.CorruptDropped. A hit bumps the entry's
// hit count (written in batches; see hitBatch).
func (s *Store) CacheGet(ctx context.Context, key string, now time.Time) (CacheEntry, bool, error) {
	e, ok, err := s.CachePeek(ctx, key, now)
	if !ok || err != nil {
		return e, ok, err
	}
	pending, full := s.hits.add(key, now)
	e.Hits += pending
	if full {
		// The hit stands even if this write fails: the counts stay pending
		// and the next flush retries them, surfacing any lasting error.
		s.flushHits(ctx)
	}
	return e, true, nil
}

// cacheGetBatch bounds the keys one CacheGetMany query looks up.
const cacheGetBatch = 256

// CacheGetMany is CacheGet for many keys at once: one query per cacheGetBatch keys
// instead of one per key, for a for_each step whose items are all looked up together.
// It returns the entries found, live and intact, by key; hits are counted as
// CacheGet counts them and corrupt entries dropped the same way.
func (s *Store) CacheGetMany(ctx context.Context, keys []string, now time.Time) (map[string]CacheEntry, error) {
	found := make(map[string]CacheEntry, len(keys))
	for start := 0; start < len(keys); start += cacheGetBatch {
		part := keys[start:min(start+cacheGetBatch, len(keys))]
		if err := s.cacheReadMany(ctx, part, now, found); err != nil {
			return nil, err
		}
	}
	full := false
	for k, e := range found {
		var pending int
		pending, full = s.hits.add(k, now)
		e.Hits += pending
		found[k] = e
	}
	if full {
		s.flushHits(ctx) // as in CacheGet: the hits stand, a failed write retries later
	}
	return found, nil
}

func (s *Store) cacheReadMany(ctx context.Context, keys []string, now time.Time, found map[string]CacheEntry) error {
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	q := `SELECT cache.key, step_id, kind, model, value, sum, size, created_at, expires_at, coalesce(cache_hits.hits, 0)
		FROM cache LEFT JOIN cache_hits USING (key) WHERE cache.key IN (?` +
		strings.Repeat(",?", len(keys)-1) + `)`
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("reading %d cache entries: %w", len(keys), err)
	}
	defer rows.Close()
	type corrupt struct {
		key string
		sum []byte
	}
	var bad []corrupt
	for rows.Next() {
		var e CacheEntry
		var sum []byte
		var created int64
		var expires sql.NullInt64
		if err := rows.Scan(&e.Key, &e.StepID, &e.Kind, &e.Model, &e.Value, &sum, &e.Size, &created, &expires, &e.Hits); err != nil {
			return fmt.Errorf("reading %d cache entries: %w", len(keys), err)
		}
		e.CreatedAt, e.ExpiresAt = fromUnixNano(created), nullTime(expires)
		if e.expired(now) {
			continue
		}
		if got := sha256.Sum256(e.Value); len(e.Value) != e.Size || !bytes.Equal(got[:], sum) {
			bad = append(bad, corrupt{e.Key, sum})
			continue
		}
		e.Sum = sum
		found[e.Key] = e
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading %d cache entries: %w", len(keys), err)
	}
	rows.Close()
	for _, c := range bad {
		if err := s.dropCorrupt(ctx, c.key, c.sum); err != nil {
			return err
		}
	}
	return nil
}

// CachePeek is CacheGet without counting a hit: `aiflow plan` looks entries up to say
// what a run would reuse, which is not a use. Corrupt entries are still dropped.
func (s *Store) CachePeek(ctx context.Context, key string, now time.Time) (CacheEntry, bool, error) {
	e, sum, err := s.cacheRead(ctx, key)
	if errors.Is(err, sql.ErrNoRows) {
		return CacheEntry{}, false, nil
	}
	if err != nil {
		return CacheEntry{}, false, fmt.Errorf("reading cache entry %s: %w", key, err)
	}
	if e.expired(now) {
		return CacheEntry{}, false, nil
	}
	if got := sha256.Sum256(e.Value); len(e.Value) != e.Size || !bytes.Equal(got[:], sum) {
		return CacheEntry{}, false, s.dropCorrupt(ctx, key, sum)
	}
	e.Sum = sum
	return e, true, nil
}

func (s *Store) cacheRead(ctx context.Context, key string) (CacheEntry, []byte, error) {
	const q = `SELECT step_id, kind, model, value, sum, size, created_at, expires_at, coalesce(cache_hits.hits, 0)
		FROM cache LEFT JOIN cache_hits USING (key) WHERE cache.key = ?`
	row, err := s.queryRow(ctx, q, key)
	if err != nil {
		return CacheEntry{}, nil, err
	}
	e := CacheEntry{Key: key}
	var sum []byte
	var created int64
	var expires sql.NullInt64
	err = row.Scan(&e.StepID, &e.Kind, &e.Model, &e.Value, &sum, &e.Size, &created, &expires, &e.Hits)
	if err != nil {
		return CacheEntry{}, nil, err
	}
	e.CreatedAt, e.ExpiresAt = fromUnixNano(created), nullTime(expires)
	return e, sum, nil
}

// dropCorrupt deletes the entry under key if it still carries checksum sum
// (a concurrent CachePut may have replaced it with a good value) and counts it.
func (s *Store) dropCorrupt(ctx context.Context, key string, sum []byte) error {
	err := s.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM cache WHERE key = ? AND sum = ?`, key, sum)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return bumpCounter(ctx, tx, corruptCounter, 1)
	})
	if err != nil {
		return fmt.Errorf("dropping corrupt cache entry %s: %w", key, err)
	}
	return nil
}

func bumpCounter(ctx context.Context, tx *sql.Tx, name string, by int64) error {
	const q = `INSERT INTO counters (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value`
	_, err := tx.ExecContext(ctx, q, name, by)
	return err
}

func nullTime(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromUnixNano(n.Int64)
	return &t
}
