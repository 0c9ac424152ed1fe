package store

import (
	"context"
	"fmt"
	"testing"
)

func TestCheckpointerKicks(t *testing.T) {
	c := newCheckpointer()
	ran := make(chan struct{}, 1)
	c.start(func(context.Context) (bool, error) { ran <- struct{}{}; return false, nil })
	defer c.stop()
	for range checkpointEvery - 1 {
		c.committed()
	}
	if len(c.kick) != 0 {
		t.Fatalf("kicked after %d commits, want after %d", checkpointEvery-1, checkpointEvery)
	}
	c.committed()
	<-ran // blocks (until the test times out) if the kick never comes
}

// walFrames returns the WAL length and how much of it is in the database
// file, from a passive checkpoint.
func walFrames(t *testing.T, s *Store) (frames, copied int) {
	t.Helper()
	var busy int
	if err := s.p.ckpt.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		t.Fatal(err)
	}
	return frames, copied
}

func TestCheckpoint(t *testing.T) {
	sqliteOnly(t)
	tests := []struct {
		name          string
		restartFrames int
		wantRestart   bool
	}{
		{"short log: passive only", walRestartFrames, false},
		{"long log: restart", 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := withRun(t)
			s.restartFrames = tt.restartFrames
			for i := range 40 {
				if err := s.PutStep(ctx, itemRecord("s", i)); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := walFrames(t, s)
			restarted, err := s.checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if restarted != tt.wantRestart {
				t.Errorf("restarted = %v, want %v", restarted, tt.wantRestart)
			}
			// Either way, with nothing else running, the log is fully copied
			// and the next commit starts it over.
			if err := s.PutStep(ctx, itemRecord("after", 0)); err != nil {
				t.Fatal(err)
			}
			if frames, copied := walFrames(t, s); frames >= before || frames != copied {
				t.Errorf("WAL after checkpoint and one commit: %d frames (%d copied), was %d", frames, copied, before)
			}
		})
	}
}

// dbHits reads the hit count written to the database for key.
func dbHits(t *testing.T, s *Store, key string) int {
	t.Helper()
	var n int
	if err := s.p.r.QueryRow(`SELECT coalesce((SELECT hits FROM cache_hits WHERE key = ?), 0)`, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCacheHitsBatched(t *testing.T) {
	ctx := context.Background()
	put := func(t *testing.T, s *Store, keys ...string) {
		for _, k := range keys {
			if err := s.CachePut(ctx, CacheEntry{Key: k, Value: []byte(`1`)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	get := func(t *testing.T, s *Store, key string) int {
		e, hit, err := s.CacheGet(ctx, key, t0)
		if err != nil || !hit {
			t.Fatalf("CacheGet(%s) = %v, %v", key, hit, err)
		}
		return e.Hits
	}
	t.Run("pending hits count in CacheGet and are written on Close", func(t *testing.T) {
		dir := t.TempDir()
		s, err := testOpen(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		put(t, s, "k")
		for want := 1; want <= 3; want++ {
			if got := get(t, s, "k"); got != want {
				t.Fatalf("hit %d: Hits = %d", want, got)
			}
		}
		if n := dbHits(t, s, "k"); n != 0 {
			t.Fatalf("hits written before a flush: %d", n)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if n := dbHits(t, openStore(t, dir), "k"); n != 3 {
			t.Fatalf("hits after Close and reopen = %d, want 3", n)
		}
	})
	t.Run("a write transaction carries them", func(t *testing.T) {
		s := withRun(t)
		put(t, s, "k")
		get(t, s, "k")
		if err := s.PutSteps(ctx, itemRecord("s", 0)); err != nil {
			t.Fatal(err)
		}
		if n := dbHits(t, s, "k"); n != 1 {
			t.Fatalf("hits after PutSteps = %d, want 1", n)
		}
	})
	t.Run("a full batch is written at once", func(t *testing.T) {
		s := newStore(t)
		var keys []string
		for i := range maxPendingHits {
			keys = append(keys, fmt.Sprint("k", i))
		}
		put(t, s, keys...)
		for _, k := range keys {
			get(t, s, k)
		}
		if !s.hits.empty() {
			t.Fatal("hits still pending after a full batch")
		}
		for _, k := range keys {
			if n := dbHits(t, s, k); n != 1 {
				t.Fatalf("%s: %d hits written, want 1", k, n)
			}
		}
	})
	t.Run("replacing an entry drops its pending hits", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "k")
		get(t, s, "k")
		put(t, s, "k")
		if got := get(t, s, "k"); got != 1 {
			t.Fatalf("Hits after replace and one hit = %d, want 1", got)
		}
	})
}
