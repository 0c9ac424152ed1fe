package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// reserveRateSlotQuery takes the next slot of a key in one atomic statement: the slot is
// the later of the key's next free time and now, and the next free time moves one
// interval past it. Standard SQL (an upsert with RETURNING), the same on SQLite and
// PostgreSQL; CASE rather than max()/GREATEST, which differ between them.
const reserveRateSlotQuery = `INSERT INTO rate_slots (key, next_at) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET next_at = CASE WHEN rate_slots.next_at > ? THEN rate_slots.next_at ELSE ? END + ?
RETURNING next_at`

// ReserveRateSlot reserves the next send slot of rate limit key, for a limit of one
// request per interval, and returns when the slot begins (never before now). The caller
// sends at that time, not before: slots are at least interval apart across every
// process that reserves through this store, so however many workers share it the key
// never exceeds one request per interval in any window (GCRA, the generic cell rate
// algorithm, with no burst). Reserving is one short write transaction; a slot that goes
// unused (the caller gave up) is simply lost, which errs on the side of the limit.
//
// Slots are compared with the callers' clocks: processes on different machines need
// synchronised clocks (NTP keeps them within milliseconds), or the limit is off by the
// skew.
func (s *Store) ReserveRateSlot(ctx context.Context, key string, now time.Time, interval time.Duration) (time.Time, error) {
	if key == "" || interval <= 0 {
		return time.Time{}, fmt.Errorf("reserving a rate slot: %w: key %q, interval %v (want a key and a positive interval)", ErrInvalid, key, interval)
	}
	n := now.UnixNano()
	var next int64
	err := s.update(ctx, func(tx *sql.Tx) error {
		st, err := s.txStmt(ctx, tx, reserveRateSlotQuery)
		if err != nil {
			return err
		}
		return st.QueryRowContext(ctx, key, n+int64(interval), n, n, int64(interval)).Scan(&next)
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("reserving a rate slot for %q: %w", key, err)
	}
	return time.Unix(0, next-int64(interval)).UTC(), nil
}
