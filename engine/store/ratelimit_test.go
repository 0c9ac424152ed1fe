package store

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"
)

func TestReserveRateSlot(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	t0 := time.Unix(1_800_000_000, 0).UTC()
	const iv = 10 * time.Millisecond
	for _, tc := range []struct {
		name string
		key  string
		now  time.Time
		want time.Time
	}{
		{"first slot is now", "workers-ai", t0, t0},
		{"a second caller at the same time waits one interval", "workers-ai", t0, t0.Add(iv)},
		{"and a third two", "workers-ai", t0.Add(time.Millisecond), t0.Add(2 * iv)},
		{"keys are independent", "openai", t0, t0},
		{"an idle key starts at now, with no saved-up burst", "workers-ai", t0.Add(time.Hour), t0.Add(time.Hour)},
		{"then spaces again", "workers-ai", t0.Add(time.Hour), t0.Add(time.Hour + iv)},
	} {
		got, err := s.ReserveRateSlot(ctx, tc.key, tc.now, iv)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !got.Equal(tc.want) {
			t.Errorf("%s: slot %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, bad := range []struct {
		key string
		iv  time.Duration
	}{{"", iv}, {"k", 0}, {"k", -time.Second}} {
		if _, err := s.ReserveRateSlot(ctx, bad.key, t0, bad.iv); !errors.Is(err, ErrInvalid) {
			t.Errorf("ReserveRateSlot(%q, %v) = %v, want ErrInvalid", bad.key, bad.iv, err)
		}
	}
}

// TestReserveRateSlotConcurrent: callers in two stores on one directory (two worker
// processes) reserving at the same instant get distinct slots exactly one interval
// apart: the reservation is atomic across connections.
func TestReserveRateSlotConcurrent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	stores := []*Store{openStore(t, dir), openStore(t, dir)}
	now := time.Unix(1_800_000_000, 0).UTC()
	const iv, n = 10 * time.Millisecond, 200
	var mu sync.Mutex
	var slots []time.Time
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			at, err := stores[i%2].ReserveRateSlot(ctx, "workers-ai", now, iv)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			slots = append(slots, at)
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].Before(slots[j]) })
	for i, at := range slots {
		if want := now.Add(time.Duration(i) * iv); !at.Equal(want) {
			t.Fatalf("slot %d = %v, want %v (slots must be distinct and one interval apart)", i, at.Sub(now), want.Sub(now))
		}
	}
}
