package engine_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
)

// TestSessionsOpenConcurrently: the activities of one Temporal worker open sessions of
// the same run at once, sharing a SessionCache. One read the run's start time from the
// cache while another set it (a data race under -race, seen in TestWorkflowBatchGrouping).
func TestSessionsOpenConcurrently(t *testing.T) {
	fl := e2eFlow(t, "aiflow: 1\nsteps:\n  a:\n    uses: transform\n    with:\n      expr: 1\n", nil)
	st, err := store.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	opts := engine.RunOptions{Store: st, RunID: "r1"}
	first, err := fl.OpenSession(ctx, opts) // creates the run
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		cache := engine.NewSessionCache()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				s, err := fl.OpenCachedSession(ctx, opts, cache)
				if err == nil {
					err = s.Close()
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}
