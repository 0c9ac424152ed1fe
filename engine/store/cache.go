package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
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
	Hits      int        // CacheGet hits so far, set by the store
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
	const q = `INSERT INTO cache (key, step_id, kind, model, value, sum, size, created_at, expires_at, hits, last_hit_at)
		VALUES (?,?,?,?,?,?,?,?,?,0,0)
		ON CONFLICT (key) DO UPDATE SET step_id = excluded.step_id, kind = excluded.kind,
			model = excluded.model, value = excluded.value, sum = excluded.sum, size = excluded.size,
			created_at = excluded.created_at, expires_at = excluded.expires_at, hits = 0, last_hit_at = 0`
	_, err := s.exec(ctx, q, e.Key, e.StepID, e.Kind, e.Model, value, sum[:], len(value),
		unixNano(e.CreatedAt), expires)
	if err != nil {
		return fmt.Errorf("writing cache entry %s: %w", e.Key, err)
	}
	s.hits.forget(e.Key)
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
	return e, true, nil
}

func (s *Store) cacheRead(ctx context.Context, key string) (CacheEntry, []byte, error) {
	const q = `SELECT step_id, kind, model, value, sum, size, created_at, expires_at, hits FROM cache WHERE key = ?`
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
		ON CONFLICT (name) DO UPDATE SET value = value + excluded.value`
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
