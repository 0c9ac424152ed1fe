package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/flowgen"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/transform"
)

func init() {
	register("engine", "engine overhead per step: 10,000 transform steps, wide and chained, run store included (target < 50 µs/step)", benchEngine)
}

func benchEngine() error {
	const n = 10000
	for _, c := range []struct{ name, src string }{{"wide", flowgen.Wide(n)}, {"chain", flowgen.Chain(n)}} {
		per, allocs, err := engineRun(c.src, n)
		if err != nil {
			return err
		}
		fmt.Printf("   %-6s %d steps: %6.1f µs/step, %5.1f allocs/step\n", c.name, n, per, allocs)
	}
	return nil
}

func engineRun(src string, n int) (perStep, allocsPerStep float64, err error) {
	reg := steps.NewRegistry()
	reg.Register(transform.Kind)
	f, diags := spec.Parse("bench.yaml", []byte(src))
	if diags.HasErrors() {
		return 0, 0, diags.Err()
	}
	fl, diags := engine.Compile(f, engine.Options{Steps: reg, Providers: providers.NewRegistry()})
	if diags.HasErrors() {
		return 0, 0, diags.Err()
	}
	dir, err := os.MkdirTemp("", "aiflow-bench-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(dir)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	const runs = 3
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for i := 0; i < runs; i++ {
		if _, err := fl.Run(context.Background(), engine.RunOptions{Store: st}); err != nil {
			return 0, 0, err
		}
	}
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	total := float64(runs * n)
	return float64(el.Microseconds()) / total, float64(after.Mallocs-before.Mallocs) / total, nil
}
