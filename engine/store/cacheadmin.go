package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CacheStats summarises the cache for `aiflow cache stats`.
type CacheStats struct {
	Entries int
	Bytes   int64 // sum of value sizes
	Expired int   // entries past their expiry, still stored until cleared
	Hits    int64 // CacheGet hits over the live entries' lifetimes
	// CorruptDropped counts entries CacheGet deleted because their value no
	// longer matched its checksum, since the state directory was created.
	CorruptDropped int64
	ByStep         map[string]int // entries per step ID
}

// CacheFilter selects cache entries for CacheList and CacheClear. Zero fields
// do not filter, so the zero filter selects everything.
type CacheFilter struct {
	StepID    string
	OlderThan time.Duration // created more than this long before Now
	Expired   bool          // only entries expired at Now
	Now       time.Time     // zero means time.Now()
}

func (f CacheFilter) where() (string, []any) {
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	var conds []string
	var args []any
	if f.StepID != "" {
		conds, args = append(conds, "step_id = ?"), append(args, f.StepID)
	}
	if f.OlderThan > 0 {
		conds, args = append(conds, "created_at < ?"), append(args, now.Add(-f.OlderThan).UnixNano())
	}
	if f.Expired {
		conds, args = append(conds, "expires_at IS NOT NULL AND expires_at <= ?"), append(args, now.UnixNano())
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// CacheStats reads the statistics from one consistent snapshot.
func (s *Store) CacheStats(ctx context.Context) (CacheStats, error) {
	if err := s.flushHits(ctx); err != nil {
		return CacheStats{}, fmt.Errorf("reading cache stats: %w", err)
	}
	// One snapshot for all the statements: SQLite's read transactions are; PostgreSQL's
	// default, READ COMMITTED, lets each statement see what committed meanwhile, so the
	// totals and the counts per step could disagree.
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.p.r.BeginTx(ctx, opts)
	if err != nil {
		return CacheStats{}, fmt.Errorf("reading cache stats: %w", err)
	}
	defer tx.Rollback()
	st, err := cacheStats(ctx, tx, time.Now())
	if err != nil {
		return CacheStats{}, fmt.Errorf("reading cache stats: %w", err)
	}
	return st, nil
}

// cacheStatsHook, when set (by tests), runs between cacheStats' first statement and the
// next.
var cacheStatsHook func()

func cacheStats(ctx context.Context, tx *sql.Tx, now time.Time) (CacheStats, error) {
	st := CacheStats{ByStep: map[string]int{}}
	const totals = `SELECT count(*), coalesce(sum(size), 0), coalesce(sum(cache_hits.hits), 0),
		count(CASE WHEN expires_at IS NOT NULL AND expires_at <= ? THEN 1 END) FROM cache LEFT JOIN cache_hits USING (key)`
	err := tx.QueryRowContext(ctx, totals, now.UnixNano()).Scan(&st.Entries, &st.Bytes, &st.Hits, &st.Expired)
	if err != nil {
		return CacheStats{}, err
	}
	if cacheStatsHook != nil {
		cacheStatsHook()
	}
	err = tx.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = ?`, corruptCounter).Scan(&st.CorruptDropped)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return CacheStats{}, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT step_id, count(*) FROM cache GROUP BY step_id`)
	if err != nil {
		return CacheStats{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var step string
		var n int
		if err := rows.Scan(&step, &n); err != nil {
			return CacheStats{}, err
		}
		st.ByStep[step] = n
	}
	return st, rows.Err()
}

// CacheList returns the entries f selects, without their values, newest first.
func (s *Store) CacheList(ctx context.Context, f CacheFilter) ([]CacheEntry, error) {
	if err := s.flushHits(ctx); err != nil {
		return nil, fmt.Errorf("listing cache: %w", err)
	}
	where, args := f.where()
	q := `SELECT cache.key, step_id, kind, model, size, created_at, expires_at, coalesce(cache_hits.hits, 0)
		FROM cache LEFT JOIN cache_hits USING (key)` + where + ` ORDER BY created_at DESC, cache.key`
	rows, err := s.p.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing cache: %w", err)
	}
	defer rows.Close()
	var out []CacheEntry
	for rows.Next() {
		var e CacheEntry
		var created int64
		var expires sql.NullInt64
		if err := rows.Scan(&e.Key, &e.StepID, &e.Kind, &e.Model, &e.Size, &created, &expires, &e.Hits); err != nil {
			return nil, fmt.Errorf("listing cache: %w", err)
		}
		e.CreatedAt, e.ExpiresAt = fromUnixNano(created), nullTime(expires)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing cache: %w", err)
	}
	return out, nil
}

// CacheClear deletes the entries f selects and returns how many it deleted,
// then gives the freed pages back to the file system.
func (s *Store) CacheClear(ctx context.Context, f CacheFilter) (int, error) {
	where, args := f.where()
	res, err := s.exec(ctx, `DELETE FROM cache`+where, args...)
	if err != nil {
		return 0, fmt.Errorf("clearing cache: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("clearing cache: %w", err)
	}
	if n > 0 && s.dialect == SQLite { // Postgres: autovacuum reclaims
		if _, err := s.p.w.ExecContext(ctx, `PRAGMA incremental_vacuum`); err != nil {
			return int(n), fmt.Errorf("cleared %d cache entries but reclaiming space: %w", n, err)
		}
	}
	return int(n), nil
}
