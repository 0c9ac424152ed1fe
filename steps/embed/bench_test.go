package embed

import (
	"context"
	"testing"

	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

// BenchmarkRunBatch embeds 100 calls of 8 texts each in one request with a cheap fake
// embedder, so the figure is the step's own gathering and splitting.
func BenchmarkRunBatch(b *testing.B) {
	m := steptest.Model(steptest.WordEmbedder(64), "m")
	calls := make([]*steps.Call, 100)
	for i := range calls {
		calls[i] = &steps.Call{Item: i, Model: m, Inputs: map[string]any{"texts": []string{"a", "b", "c", "d", "e", "f", "g", "h"}}}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (embedder{}).RunBatch(context.Background(), calls); err != nil {
			b.Fatal(err)
		}
	}
}
