package engine_test

import (
	"context"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/flowgen"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/transform"
)

func benchFlow(b *testing.B, src string, n int) {
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
		if _, err := fl.Run(context.Background(), engine.RunOptions{Store: st}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/step")
}

// BenchmarkEngineOverhead measures the engine's cost per step, recording included, for
// 10,000 transform steps arranged wide and as a chain. Target: under 50 µs per step.
func BenchmarkEngineOverhead(b *testing.B) {
	const n = 10000
	b.Run("wide", func(b *testing.B) { benchFlow(b, flowgen.Wide(n), n) })
	b.Run("chain", func(b *testing.B) { benchFlow(b, flowgen.Chain(n), n) })
}
