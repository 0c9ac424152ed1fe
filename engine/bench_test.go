package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/flowgen"
	"github.com/aiflow/aiflow/providers"
	_ "github.com/aiflow/aiflow/providers/all"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	_ "github.com/aiflow/aiflow/steps/all"
	"github.com/aiflow/aiflow/steps/transform"
)

func benchFlow(b *testing.B, src string, n int) { benchRun(b, src, n, false) }

// benchRun runs src, a flow of n transform steps, b.N times; ephemeral runs record
// nothing, which leaves the walker's own cost per step.
func benchRun(b *testing.B, src string, n int, ephemeral bool) {
	reg := steps.NewRegistry()
	reg.Register(transform.Kind)
	f, diags := spec.Parse("bench.yaml", []byte(src))
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	fl, diags := engine.Compile(f, engine.Options{Steps: reg, Providers: providers.NewRegistry()})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	st, err := store.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := fl.Run(context.Background(), engine.RunOptions{Store: st, Ephemeral: ephemeral}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/step")
}

// BenchmarkEngineOverhead measures the engine's cost per step, recording included, for
// 100 and 10,000 transform steps arranged wide and as a chain. Targets (issue 18): at
// most eino's compose graph at 100 steps (17.6 µs/step wide, 9.3 chain, measured there
// in eino's DAG mode; `go run ./bench engine` runs eino beside it), under 10 µs per step
// at 10,000.
func BenchmarkEngineOverhead(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("wide-%d", n), func(b *testing.B) { benchFlow(b, flowgen.Wide(n), n) })
		b.Run(fmt.Sprintf("chain-%d", n), func(b *testing.B) { benchFlow(b, flowgen.Chain(n), n) })
	}
}

// BenchmarkWalkerOverhead is BenchmarkEngineOverhead at 100 steps without the run
// store's share: ephemeral runs, so what it measures is the walker's own CPU per step
// (scheduling, evaluating the inputs, calling the step, shaping and encoding its output).
func BenchmarkWalkerOverhead(b *testing.B) {
	b.Run("wide-100", func(b *testing.B) { benchRun(b, flowgen.Wide(100), 100, true) })
	b.Run("chain-100", func(b *testing.B) { benchRun(b, flowgen.Chain(100), 100, true) })
	b.Run("items-100", func(b *testing.B) { benchRun(b, forEachTransform(100), 100, true) })
}

// forEachTransform is one transform step over n for_each items (reported per item).
func forEachTransform(n int) string {
	return fmt.Sprintf("aiflow: 1\nsteps:\n  s:\n    uses: transform\n    for_each: ${ 0..%d }\n    with:\n      expr: ${ each.value * 2 }\n", n-1)
}

// BenchmarkCachedIngest re-runs an unchanged 1,000-chunk ingest (chunk → embed with the
// local provider → upsert into a local index) whose embeddings are all in the cache.
// Target (issue 18): the whole re-run under 100 ms.
func BenchmarkCachedIngest(b *testing.B) {
	dir := b.TempDir()
	fl := cachedIngestFlow(b, dir)
	st, err := store.Open(filepath.Join(dir, ".aiflow"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	opts := engine.RunOptions{Store: st, StateDir: filepath.Join(dir, ".aiflow")}
	if _, err := fl.Run(context.Background(), opts); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := fl.Run(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		if res.Steps[1].Cached != flowgen.CachedIngestChunks {
			b.Fatalf("embed served %d of %d items from the cache", res.Steps[1].Cached, flowgen.CachedIngestChunks)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/rerun")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*1000), "µs/cached-item")
}

func cachedIngestFlow(b *testing.B, dir string) *engine.Flow {
	path, err := flowgen.CachedIngest(dir)
	if err != nil {
		b.Fatal(err)
	}
	f, diags := spec.ParseFile(path)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	fl, diags := engine.Compile(f, engine.Options{})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	return fl
}
