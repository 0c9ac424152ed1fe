package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

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

func init() {
	register("ingest", "chunk + embed (local lexical) + upsert (local index) throughput, then the same flow re-run from cache", benchIngest)
}

func benchIngest() error {
	dir, err := os.MkdirTemp("", "aiflow-ingest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var doc strings.Builder
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&doc, "Paragraph %d explains topic %d: how detail %d relates to the rest, in plain and varied words.\n\n", i, i%53, i*7)
	}
	if err := os.WriteFile(filepath.Join(dir, "doc.txt"), []byte(doc.String()), 0o644); err != nil {
		return err
	}
	src := `aiflow: 1
resources:
  kb: { kind: vector-index, dimensions: 768 }
steps:
  chunks:
    uses: chunk
    with:
      text: ${ file("doc.txt") }
      size: 24
  vectors:
    uses: embed
    with:
      texts: ${ steps.chunks.output.texts }
  upsert:
    uses: upsert
    with:
      index: ${ resources.kb }
      vectors: ${ steps.vectors.output.vectors }
      texts: ${ steps.chunks.output.texts }
      source: doc.txt
outputs:
  count: ${ steps.upsert.output.count }
`
	path := filepath.Join(dir, "ingest.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		return err
	}
	f, diags := spec.ParseFile(path)
	if diags.HasErrors() {
		return diags.Err()
	}
	fl, diags := engine.Compile(f, engine.Options{})
	if diags.HasErrors() {
		return diags.Err()
	}
	state := filepath.Join(dir, ".aiflow")
	st, err := store.Open(state)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, label := range []string{"cold", "cached"} {
		start := time.Now()
		res, err := fl.Run(context.Background(), engine.RunOptions{Store: st, StateDir: state})
		if err != nil {
			return err
		}
		el := time.Since(start)
		n, _ := res.Outputs["count"].(float64)
		fmt.Printf("   %-6s %5.0f chunks in %6.1f ms: %8.0f chunks/s\n", label, n, float64(el.Microseconds())/1000, n/el.Seconds())
	}
	return nil
}
