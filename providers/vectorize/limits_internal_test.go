package vectorize

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
)

func TestSplitBatches(t *testing.T) {
	line := func(n int) []byte { return bytes.Repeat([]byte("x"), n) }
	big := maxBatchBytes/2 - 10
	tests := []struct {
		name  string
		lines [][]byte
		size  int
		want  [][2]int // [from, to) of each batch
	}{
		{"none", nil, 3, nil},
		{"under the size", [][]byte{line(1), line(1)}, 3, [][2]int{{0, 2}}},
		{"by count", [][]byte{line(1), line(1), line(1), line(1), line(1)}, 2, [][2]int{{0, 2}, {2, 4}, {4, 5}}},
		{"by bytes", [][]byte{line(big), line(big), line(big)}, 1000, [][2]int{{0, 2}, {2, 3}}},
		{"a line over the byte cap still goes alone", [][]byte{line(1), line(maxBatchBytes + 1), line(1)}, 1000, [][2]int{{0, 1}, {1, 2}, {2, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][2]int
			var joined []byte
			for _, b := range splitBatches(tt.lines, tt.size) {
				got = append(got, [2]int{b.from, b.to})
				joined = append(joined, b.body...)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("batches (-want +got):\n%s", diff)
			}
			var want []byte
			for _, l := range tt.lines {
				want = append(append(want, l...), '\n')
			}
			if !bytes.Equal(want, joined) {
				t.Error("batches do not add up to the NDJSON of every line")
			}
		})
	}
}

// BenchmarkEncode measures the client side of an upsert alone: checking and encoding
// 1000 vectors of 768 dimensions with metadata into NDJSON batches.
func BenchmarkEncode(b *testing.B) {
	vs := make([]providers.Vector, 1000)
	for i := range vs {
		vals := make([]float32, 768)
		for j := range vals {
			vals[j] = float32(i*j%97) / 97
		}
		vs[i] = providers.Vector{ID: fmt.Sprintf("doc-%d#0", i), Values: vals, Metadata: map[string]any{"source": "a.md", "page": i}}
	}
	b.ReportAllocs()
	for range b.N {
		lines := make([][]byte, len(vs))
		for i, v := range vs {
			l, err := encodeVector(v, 768)
			if err != nil {
				b.Fatal(err)
			}
			lines[i] = l
		}
		if body, _, err := multipartVectors(splitBatches(lines, DefaultBatchSize)[0].body); err != nil || len(body) == 0 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(vs))/b.Elapsed().Seconds(), "vectors/s")
}
