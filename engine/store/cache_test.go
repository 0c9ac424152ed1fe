package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func ptime(t time.Time) *time.Time { return &t }

func TestCachePutGet(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	e := CacheEntry{Key: "k1", StepID: "summarize", Kind: "summarize", Model: "m", Value: []byte(`{"text":"short"}`),
		CreatedAt: t0, ExpiresAt: ptime(t0.Add(time.Hour))}
	if err := s.CachePut(ctx, e); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		key      string
		now      time.Time
		wantHit  bool
		wantHits int
	}{
		{"hit", "k1", t0.Add(time.Minute), true, 1},
		{"second hit counts", "k1", t0.Add(2 * time.Minute), true, 2},
		{"missing key", "nope", t0, false, 0},
		{"expired at the instant", "k1", t0.Add(time.Hour), false, 0},
		{"expired after", "k1", t0.Add(2 * time.Hour), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, hit, err := s.CacheGet(ctx, tt.key, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if hit != tt.wantHit {
				t.Fatalf("hit = %v, want %v", hit, tt.wantHit)
			}
			if !hit {
				return
			}
			want := e
			sum := sha256.Sum256(e.Value)
			want.Size, want.Hits, want.Sum = len(e.Value), tt.wantHits, sum[:]
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("expired entry is kept until cleared", func(t *testing.T) {
		if n := len(mustList(t, s, CacheFilter{})); n != 1 {
			t.Fatalf("%d entries listed, want 1", n)
		}
	})
	t.Run("put replaces and resets hits", func(t *testing.T) {
		e2 := CacheEntry{Key: "k1", StepID: "summarize", Value: []byte(`"v2"`), CreatedAt: t0.Add(3 * time.Hour)}
		if err := s.CachePut(ctx, e2); err != nil {
			t.Fatal(err)
		}
		got, hit, err := s.CacheGet(ctx, "k1", t0.Add(100*time.Hour))
		if err != nil || !hit {
			t.Fatalf("CacheGet = %v, %v", hit, err)
		}
		if !bytes.Equal(got.Value, e2.Value) || got.ExpiresAt != nil || got.Hits != 1 {
			t.Errorf("after replace: %+v", got)
		}
	})
	t.Run("empty value", func(t *testing.T) {
		if err := s.CachePut(ctx, CacheEntry{Key: "empty"}); err != nil {
			t.Fatal(err)
		}
		got, hit, err := s.CacheGet(ctx, "empty", time.Now())
		if err != nil || !hit || len(got.Value) != 0 || got.Size != 0 {
			t.Fatalf("CacheGet(empty) = %+v, %v, %v", got, hit, err)
		}
	})
	t.Run("empty key is invalid", func(t *testing.T) {
		if err := s.CachePut(ctx, CacheEntry{Value: []byte("x")}); err == nil {
			t.Fatal("CachePut with an empty key succeeded")
		}
	})
}

func TestCacheCorruption(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		corrupt string // SQL run against the stored row with key ?
		pg      string // the same in Postgres's SQL, when it differs
	}{
		{"flipped byte", `UPDATE cache SET value = CAST(replace(CAST(value AS TEXT), 'world', 'w0rld') AS BLOB) WHERE key = ?`,
			`UPDATE cache SET value = convert_to(replace(convert_from(value, 'UTF8'), 'world', 'w0rld'), 'UTF8') WHERE key = ?`},
		{"truncated", `UPDATE cache SET value = substr(value, 1, 5) WHERE key = ?`, ""},
		{"emptied", `UPDATE cache SET value = X'' WHERE key = ?`, `UPDATE cache SET value = decode('', 'hex') WHERE key = ?`},
		{"checksum damaged", `UPDATE cache SET sum = zeroblob(32) WHERE key = ?`, `UPDATE cache SET sum = decode(repeat('00', 32), 'hex') WHERE key = ?`},
		{"size damaged", `UPDATE cache SET size = size + 1 WHERE key = ?`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			for _, k := range []string{"bad", "good"} {
				if err := s.CachePut(ctx, CacheEntry{Key: k, StepID: "gen", Value: []byte(`{"text":"hello world"}`)}); err != nil {
					t.Fatal(err)
				}
			}
			q := tt.corrupt
			if testBackend == Postgres && tt.pg != "" {
				q = tt.pg
			}
			res, err := s.p.w.Exec(q, "bad")
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				t.Fatalf("corruption touched %d rows", n)
			}
			if _, hit, err := s.CacheGet(ctx, "bad", time.Now()); err != nil || hit {
				t.Fatalf("CacheGet(corrupt) = hit %v, err %v; want a miss", hit, err)
			}
			if _, hit, err := s.CacheGet(ctx, "good", time.Now()); err != nil || !hit {
				t.Fatalf("CacheGet(good) = hit %v, err %v; want a hit", hit, err)
			}
			st, err := s.CacheStats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Entries != 1 || st.CorruptDropped != 1 {
				t.Errorf("stats after drop: %+v; want 1 entry, 1 corrupt dropped", st)
			}
			if _, hit, _ := s.CacheGet(ctx, "bad", time.Now()); hit {
				t.Error("dropped entry came back")
			}
		})
	}
}

func mustList(t *testing.T, s *Store, f CacheFilter) []CacheEntry {
	t.Helper()
	es, err := s.CacheList(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// seedCache stores entries around now: two fresh, one old, one expired.
func seedCache(t *testing.T, s *Store, now time.Time) {
	t.Helper()
	entries := []CacheEntry{
		{Key: "a", StepID: "embed", Kind: "embed", Value: []byte("aaaa"), CreatedAt: now.Add(-time.Minute)},
		{Key: "b", StepID: "embed", Kind: "embed", Value: []byte("bb"), CreatedAt: now.Add(-48 * time.Hour)},
		{Key: "c", StepID: "gen", Kind: "generate", Value: []byte("c"), CreatedAt: now.Add(-2 * time.Minute)},
		{Key: "d", StepID: "gen", Kind: "generate", Value: []byte("dddddd"), CreatedAt: now.Add(-3 * time.Hour),
			ExpiresAt: ptime(now.Add(-time.Hour))},
	}
	for _, e := range entries {
		if err := s.CachePut(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCacheStats(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	now := time.Now()
	seedCache(t, s, now)
	for range 3 {
		if _, hit, err := s.CacheGet(ctx, "a", now); err != nil || !hit {
			t.Fatalf("CacheGet(a) = %v, %v", hit, err)
		}
	}
	got, err := s.CacheStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := CacheStats{Entries: 4, Bytes: 13, Expired: 1, Hits: 3, ByStep: map[string]int{"embed": 2, "gen": 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	t.Run("empty cache", func(t *testing.T) {
		got, err := newStore(t).CacheStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(CacheStats{ByStep: map[string]int{}}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestCacheListAndClear(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name   string
		filter CacheFilter
		want   []string // newest first
	}{
		{"everything", CacheFilter{}, []string{"a", "c", "d", "b"}},
		{"by step", CacheFilter{StepID: "gen"}, []string{"c", "d"}},
		{"older than", CacheFilter{OlderThan: time.Hour, Now: now}, []string{"d", "b"}},
		{"step and age", CacheFilter{StepID: "embed", OlderThan: 24 * time.Hour, Now: now}, []string{"b"}},
		{"expired", CacheFilter{Expired: true, Now: now}, []string{"d"}},
		{"expired later", CacheFilter{Expired: true, Now: now.Add(-2 * time.Hour)}, nil},
		{"no match", CacheFilter{StepID: "nope"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			seedCache(t, s, now)
			listed := mustList(t, s, tt.filter)
			if diff := cmp.Diff(tt.want, cacheKeys(listed)); diff != "" {
				t.Fatalf("CacheList (-want +got):\n%s", diff)
			}
			for _, e := range listed {
				if e.Value != nil || e.Size == 0 {
					t.Errorf("listed entry %s: value %q, size %d; want no value, its size", e.Key, e.Value, e.Size)
				}
			}
			n, err := s.CacheClear(context.Background(), tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tt.want) {
				t.Errorf("CacheClear removed %d, want %d", n, len(tt.want))
			}
			left := cacheKeys(mustList(t, s, CacheFilter{}))
			sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
			if diff := cmp.Diff(without([]string{"a", "b", "c", "d"}, tt.want), left, sorted); diff != "" {
				t.Errorf("left after clear (-want +got):\n%s", diff)
			}
		})
	}
}

func cacheKeys(es []CacheEntry) []string {
	var ks []string
	for _, e := range es {
		ks = append(ks, e.Key)
	}
	return ks
}

func without(all, drop []string) []string {
	var out []string
	for _, a := range all {
		keep := true
		for _, d := range drop {
			keep = keep && a != d
		}
		if keep {
			out = append(out, a)
		}
	}
	return out
}

func TestCachePeekCountsNoHit(t *testing.T) {
	ctx := context.Background()
	s, err := testOpen(t, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	if err := s.CachePut(ctx, CacheEntry{Key: "k", StepID: "s", Value: []byte(`"v"`)}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, ok, err := s.CachePeek(ctx, "k", now); !ok || err != nil {
			t.Fatalf("peek: ok %v, err %v", ok, err)
		}
	}
	e, ok, err := s.CacheGet(ctx, "k", now)
	if !ok || err != nil || e.Hits != 1 {
		t.Errorf("after three peeks and one get: hits %d (ok %v, err %v), want 1", e.Hits, ok, err)
	}
}

// TestCacheHitWritesLittle checks that counting a hit does not rewrite the entry's
// value: SQLite rewrites a whole row (overflow pages included) on UPDATE, so a hit
// count kept beside a 1 MB value cost a 1 MB write per flushed hit, most of a cached
// re-run of an ingest whose embeddings are the values.
func TestCacheHitWritesLittle(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if err := s.CachePut(ctx, CacheEntry{Key: "k", Value: big}); err != nil {
		t.Fatal(err)
	}
	before, err := s.settle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.CacheGet(ctx, "k", time.Now()); err != nil || !ok {
		t.Fatalf("CacheGet = %v, %v", ok, err)
	}
	if err := s.flushHits(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := s.DiskSize()
	if err != nil {
		t.Fatal(err)
	}
	if grew := after - before; grew > 64<<10 {
		t.Errorf("counting one hit wrote %d bytes to the WAL; want at most 64 KiB", grew)
	}
	if st, err := s.CacheStats(ctx); err != nil || st.Hits != 1 {
		t.Errorf("CacheStats hits = %d, %v; want 1", st.Hits, err)
	}
}

// TestCacheStatsIsOneSnapshot: an entry stored by another process while the stats are
// read shows in all of them or in none. On PostgreSQL each statement of a READ COMMITTED
// transaction saw what committed before it, so the totals and the counts per step
// disagreed.
func TestCacheStatsIsOneSnapshot(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.CachePut(ctx, CacheEntry{Key: "k1", StepID: "embed", Value: []byte(`{"v":1}`)}); err != nil {
		t.Fatal(err)
	}
	cacheStatsHook = func() {
		if err := s.CachePut(ctx, CacheEntry{Key: "k2", StepID: "embed", Value: []byte(`{"v":2}`)}); err != nil {
			t.Error(err)
		}
	}
	defer func() { cacheStatsHook = nil }()
	st, err := s.CacheStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.ByStep["embed"] != st.Entries {
		t.Errorf("stats of one moment disagree: %d entries in all, %d for step embed", st.Entries, st.ByStep["embed"])
	}
}
