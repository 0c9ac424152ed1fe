package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
// 100 and 10,000 transform steps arranged wide and as a chain. Targets (issue 18): at
// most eino's compose graph at 100 steps (17.6 µs/step wide, 9.3 chain, measured
// there), under 10 µs per step at 10,000.
func BenchmarkEngineOverhead(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("wide-%d", n), func(b *testing.B) { benchFlow(b, flowgen.Wide(n), n) })
		b.Run(fmt.Sprintf("chain-%d", n), func(b *testing.B) { benchFlow(b, flowgen.Chain(n), n) })
	}
}

// BenchmarkCachedIngest re-runs an unchanged 1,000-chunk ingest (chunk → embed with the
// local provider → upsert into a local index) whose embeddings are all in the cache.
// Target: the whole re-run under 1 s.
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
		if res.Steps[1].Cached != 1000 {
			b.Fatalf("embed served %d of 1000 items from the cache", res.Steps[1].Cached)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/rerun")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*1000), "µs/cached-item")
}

func cachedIngestFlow(b *testing.B, dir string) *engine.Flow {
	var doc strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&doc, "Paragraph %d talks about topic %d and detail %d in several plain words.\n\n", i, i%37, i*7)
	}
	if err := os.WriteFile(filepath.Join(dir, "doc.txt"), []byte(doc.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	src := `aiflow: 1
resources:
  kb: { kind: vector-index, dimensions: 768 }
steps:
  chunks:
    uses: chunk
    with:
      text: ${ file("doc.txt") }
      size: 20
  vectors:
    uses: embed
    for_each: ${ steps.chunks.output.texts }
    batch: 100
    with:
      text: ${ each.value }
  upsert:
    uses: upsert
    with:
      index: ${ resources.kb }
      vectors: ${ map(steps.vectors.output, .vector) }
      texts: ${ steps.chunks.output.texts }
      source: doc.txt
outputs:
  count: ${ steps.upsert.output.count }
`
	path := filepath.Join(dir, "ingest.yaml")
	os.WriteFile(path, []byte(src), 0o644)
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
