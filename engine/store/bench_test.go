package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchValue is a typical cached step output: a paragraph of generated text.
var benchValue = []byte(`{"text":"` + strings.Repeat("lorem ipsum ", 100) + `"}`)

func benchStore(b *testing.B, entries int) *Store {
	b.Helper()
	s := withRun(b)
	ctx := context.Background()
	for i := range entries {
		if err := s.CachePut(ctx, CacheEntry{Key: fmt.Sprintf("%064x", i), StepID: "gen", Value: benchValue}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkCacheGetHit measures one cache hit: read, checksum, hit count.
func BenchmarkCacheGetHit(b *testing.B) {
	const entries = 1000
	s := benchStore(b, entries)
	ctx, now := context.Background(), time.Now()
	var lat latencies
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, hit, err := s.CacheGet(ctx, fmt.Sprintf("%064x", i%entries), now); err != nil || !hit {
			b.Fatal(hit, err)
		}
		lat.add(start)
	}
	lat.report(b)
}

// BenchmarkCacheGetMiss measures a lookup of a key that is not stored.
func BenchmarkCacheGetMiss(b *testing.B) {
	s := benchStore(b, 1000)
	ctx, now := context.Background(), time.Now()
	for i := 0; b.Loop(); i++ {
		if _, hit, err := s.CacheGet(ctx, fmt.Sprintf("miss%d", i), now); err != nil || hit {
			b.Fatal(hit, err)
		}
	}
}

// BenchmarkPutStep measures recording one step result.
func BenchmarkPutStep(b *testing.B) {
	s := benchStore(b, 0)
	ctx := context.Background()
	var lat latencies
	for i := 0; b.Loop(); i++ {
		rec := StepRecord{RunID: "r1", StepID: "gen", Item: i, Status: StepSucceeded, Output: json.RawMessage(benchValue),
			StartedAt: t0, FinishedAt: t0, Model: "m", Provider: "p"}
		start := time.Now()
		if err := s.PutStep(ctx, rec); err != nil {
			b.Fatal(err)
		}
		lat.add(start)
	}
	lat.report(b)
}

// latencies collects per-call durations so a benchmark can report the
// median and tail besides the mean: the tail is where checkpoints show.
type latencies []time.Duration

func (l *latencies) add(start time.Time) { *l = append(*l, time.Since(start)) }

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	us := func(q float64) float64 { return float64(l[int(q*float64(len(l)-1))]) / 1e3 }
	b.ReportMetric(us(0.5), "p50-µs")
	b.ReportMetric(us(0.99), "p99-µs")
	b.ReportMetric(us(1), "max-µs")
}

// BenchmarkPutSteps100 measures recording 100 for_each items in one batch;
// ns/op is per batch.
func BenchmarkPutSteps100(b *testing.B) {
	s := benchStore(b, 0)
	ctx := context.Background()
	recs := make([]StepRecord, 100)
	for n := 0; b.Loop(); n++ {
		for i := range recs {
			recs[i] = StepRecord{RunID: "r1", StepID: fmt.Sprint("gen", n), Item: i, Status: StepSucceeded,
				Output: json.RawMessage(benchValue), StartedAt: t0}
		}
		if err := s.PutSteps(ctx, recs...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCachedStep is the engine's per-step work in a cached re-run: a
// cache hit, then a record that the step was served from cache. The target
// is a 1,000-step cached re-run in under a second, so this must stay well
// under 1 ms.
func BenchmarkCachedStep(b *testing.B) {
	const entries = 1000
	s := benchStore(b, entries)
	ctx, now := context.Background(), time.Now()
	var lat latencies
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		key := fmt.Sprintf("%064x", i%entries)
		e, hit, err := s.CacheGet(ctx, key, now)
		if err != nil || !hit {
			b.Fatal(hit, err)
		}
		rec := StepRecord{RunID: "r1", StepID: fmt.Sprint("s", i), Item: WholeStep, Status: StepCached,
			Reason: "cache hit", CacheKey: key, Output: e.Value, StartedAt: now, FinishedAt: now}
		if err := s.PutStep(ctx, rec); err != nil {
			b.Fatal(err)
		}
		lat.add(start)
	}
	lat.report(b)
}

// BenchmarkCachedStepParallel is BenchmarkCachedStep from several goroutines,
// as the engine's walker runs independent steps at once.
func BenchmarkCachedStepParallel(b *testing.B) {
	const entries = 1000
	s := benchStore(b, entries)
	ctx, now := context.Background(), time.Now()
	var seq atomicCounter
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.next()
			key := fmt.Sprintf("%064x", i%entries)
			e, hit, err := s.CacheGet(ctx, key, now)
			if err != nil || !hit {
				b.Error(hit, err)
				return
			}
			rec := StepRecord{RunID: "r1", StepID: fmt.Sprint("s", i), Item: WholeStep, Status: StepCached,
				CacheKey: key, Output: e.Value, StartedAt: now}
			if err := s.PutStep(ctx, rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPutSteps100Small writes 100 records with small outputs kept in their rows,
// as a chain of transform steps records them (issue 18: a third of a small flow's cost
// per step was statement overhead, one statement per row).
func BenchmarkPutSteps100Small(b *testing.B) {
	s := benchStore(b, 0)
	ctx := context.Background()
	recs := make([]StepRecord, 100)
	small, err := EncodeValue(map[string]any{"value": 42.0})
	if err != nil {
		b.Fatal(err)
	}
	for n := 0; b.Loop(); n++ {
		for i := range recs {
			recs[i] = StepRecord{RunID: "r1", StepID: fmt.Sprint("s", i), Item: WholeStep, Status: StepSucceeded,
				Encoded: small, StartedAt: t0, FinishedAt: t0, InputsHash: fmt.Sprint(n)}
		}
		if err := s.PutSteps(ctx, recs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(recs)), "µs/record")
}

// BenchmarkPutSteps100Fresh records a new run of 100 transform steps per batch, as
// the engine does: the run, then 100 new records with small outputs kept in their
// rows (inserts, where BenchmarkPutSteps100Small updates the same rows again).
func BenchmarkPutSteps100Fresh(b *testing.B) {
	s := newStore(b)
	ctx := context.Background()
	recs := make([]StepRecord, 100)
	small, err := EncodeValue(map[string]any{"value": 42.0})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, len(recs))
	for i := range ids {
		ids[i] = fmt.Sprint("s", i)
	}
	for n := 0; b.Loop(); n++ {
		run := NewRunID()
		if err := s.CreateRun(ctx, sampleRun(run, "f.yaml", t0)); err != nil {
			b.Fatal(err)
		}
		for i := range recs {
			recs[i] = StepRecord{RunID: run, StepID: ids[i], Item: WholeStep, Status: StepSucceeded,
				Encoded: small, StartedAt: t0, FinishedAt: t0}
		}
		if err := s.PutSteps(ctx, recs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(recs)), "µs/record")
}
