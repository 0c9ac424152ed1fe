package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

// writeItems has g goroutines write n item records each of step "s<g>",
// alternating PutStep and PutSteps, and also putting and getting a cache
// entry per item; it returns the first error.
func writeItems(ctx context.Context, stores []*Store, prefix string, g, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, g)
	for w := range g {
		s := stores[w%len(stores)]
		wg.Go(func() {
			step := fmt.Sprintf("%s%d", prefix, w)
			for i := 0; i < n; i += 2 {
				a, b := itemRecord(step, i), itemRecord(step, i+1)
				if err := s.PutStep(ctx, a); err != nil {
					errs <- err
					return
				}
				if err := s.PutSteps(ctx, b); err != nil {
					errs <- err
					return
				}
				key := step + "/" + fmt.Sprint(i)
				if err := s.CachePut(ctx, CacheEntry{Key: key, StepID: step, Value: a.Output}); err != nil {
					errs <- err
					return
				}
				if _, hit, err := s.CacheGet(ctx, key, time.Now()); err != nil || !hit {
					errs <- fmt.Errorf("CacheGet(%s) right after put: hit %v, err %v", key, hit, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func itemRecord(step string, i int) StepRecord {
	out, _ := json.Marshal(map[string]any{"step": step, "i": i})
	return StepRecord{RunID: "r1", StepID: step, Item: i, Status: StepSucceeded, Output: out,
		StartedAt: t0.Add(time.Duration(i) * time.Millisecond), Attempts: 1}
}

// checkItems verifies that every record writeItems wrote is present and intact.
func checkItems(t *testing.T, s *Store, prefix string, g, n int) {
	t.Helper()
	recs, err := s.Steps(context.Background(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]StepRecord{}
	for _, r := range recs {
		byKey[fmt.Sprintf("%s[%d]", r.StepID, r.Item)] = r
	}
	for w := range g {
		for i := range n {
			step := fmt.Sprintf("%s%d", prefix, w)
			got, ok := byKey[fmt.Sprintf("%s[%d]", step, i)]
			if want := itemRecord(step, i); !ok || string(got.Output) != string(want.Output) {
				t.Fatalf("%s[%d]: present %v, output %s; want %s", step, i, ok, got.Output, want.Output)
			}
		}
	}
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s := withRun(t)
	const g, n = 16, 40
	done := make(chan struct{})
	readErr := make(chan error, 1)
	go func() { // a reader running alongside must never fail or block writers
		defer close(readErr)
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := s.Steps(ctx, "r1"); err != nil {
				readErr <- err
				return
			}
			if _, err := s.CacheStats(ctx); err != nil {
				readErr <- err
				return
			}
		}
	}()
	err := writeItems(ctx, []*Store{s}, "s", g, n)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-readErr; err != nil {
		t.Fatalf("concurrent reader: %v", err)
	}
	checkItems(t, s, "s", g, n)
}

func TestTwoStoresOneDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := openStore(t, dir)
	b := openStore(t, dir)
	if err := a.CreateRun(ctx, sampleRun("r1", "f.yaml", t0)); err != nil {
		t.Fatal(err)
	}
	const g, n = 8, 30
	if err := writeItems(ctx, []*Store{a, b}, "s", g, n); err != nil {
		t.Fatal(err)
	}
	// Each store sees everything, including what the other wrote.
	checkItems(t, a, "s", g, n)
	checkItems(t, b, "s", g, n)
	if err := b.FinishRun(ctx, "r1", RunSucceeded, nil, "", Usage{}); err != nil {
		t.Fatal(err)
	}
	if r, err := a.GetRun(ctx, "r1"); err != nil || r.Status != RunSucceeded {
		t.Fatalf("a sees run status %q, %v; want succeeded", r.Status, err)
	}
	if testBackend == SQLite && pragma(t, a, "integrity_check") != "ok" {
		t.Fatal("integrity_check failed")
	}
}

func TestOpenConcurrently(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			s, err := OpenWith(dir, opts)
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open of a fresh directory: %v", err)
		}
	}
	if v := pragmaVersion(t, openStore(t, dir)); v != len(migrations) {
		t.Fatalf("schema version %d", v)
	}
}
