package upsert

import (
	"context"
	"testing"

	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

// BenchmarkRecords converts 1,000 JSON-decoded 768-dimension vectors into index records
// with derived ids, the per-batch work upsert does before writing.
func BenchmarkRecords(b *testing.B) {
	const n, dims = 1000, 768
	raw := make([]any, n)
	texts := make([]string, n)
	for i := range raw {
		row := make([]any, dims)
		for j := range row {
			row[j] = float64(i*j%97) / 97
		}
		raw[i], texts[i] = row, "chunk text"
	}
	call := &steps.Call{Inputs: map[string]any{"vectors": raw, "texts": texts, "source": "doc.md", "offset": 0}, Env: &steptest.Env{}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := records(call); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunBatch writes 10 calls of 100 vectors each into the in-memory test index.
func BenchmarkRunBatch(b *testing.B) {
	idx := steptest.NewIndex(64)
	env := &steptest.Env{Indexes: map[string]*steptest.Index{"kb": idx}}
	var calls []*steps.Call
	for c := range 10 {
		raw := make([]any, 100)
		for i := range raw {
			row := make([]any, 64)
			for j := range row {
				row[j] = float64(c+i+j) / 200
			}
			raw[i] = row
		}
		calls = append(calls, &steps.Call{Item: c, Env: env, Inputs: map[string]any{
			"index": steps.ResourceRef{Name: "kb"}, "vectors": raw, "source": string(rune('a' + c)), "offset": 0}})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (upserter{}).RunBatch(context.Background(), calls); err != nil {
			b.Fatal(err)
		}
	}
}
