package engine_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
)

// TestProviderPoolAndEphemeral: runs sharing a ProviderPool open each provider once (so
// its rate limiter and concurrency limit bound them together), runs without one open
// their own; ephemeral runs leave no run in the store.
func TestProviderPoolAndEphemeral(t *testing.T) {
	src := "aiflow: 1\nname: pool\nsteps:\n  vec:\n    uses: embed\n    model: local:local/hash-embed\n    with: { text: hello }\n    cache: off\noutputs:\n  n: ${ len(steps.vec.output.vector) }\n"
	f, diags := spec.Parse("pool.yaml", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	fl, diags := engine.Compile(f, engine.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tc := range []struct {
		name      string
		pool      bool
		ephemeral bool
		opens     int64
		runs      int
	}{
		{"no pool, recorded", false, false, 3, 3},
		{"pool, ephemeral", true, true, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opens atomic.Int64
			opts := engine.RunOptions{Store: st, Ephemeral: tc.ephemeral, WrapProvider: func(_, _ string, open func() (providers.Provider, error)) (providers.Provider, error) {
				opens.Add(1)
				return open()
			}}
			if tc.pool {
				opts.Pool = engine.NewProviderPool()
				defer opts.Pool.Close()
			}
			before, _ := st.ListRuns(context.Background(), store.ListRunsOpts{})
			for range 3 {
				if _, err := fl.Run(context.Background(), opts); err != nil {
					t.Fatal(err)
				}
			}
			after, _ := st.ListRuns(context.Background(), store.ListRunsOpts{})
			if opens.Load() != tc.opens || len(after)-len(before) != tc.runs {
				t.Errorf("3 runs opened the provider %d times and recorded %d runs; want %d and %d", opens.Load(), len(after)-len(before), tc.opens, tc.runs)
			}
		})
	}
}
