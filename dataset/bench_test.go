package dataset_test

import (
	"testing"

	"github.com/aiflow/aiflow/internal/datasetbench"
)

// BenchmarkDataset100k runs a transform-only flow over 100,000 JSONL rows with results
// streamed to a file. Targets: ≥ 2,000 rows/s and a peak RSS under 200 MB (reported as
// peak-RSS-MB, the test process's high-water mark).
func BenchmarkDataset100k(b *testing.B) {
	for b.Loop() {
		r, err := datasetbench.Run(b.TempDir(), 100_000)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.RowsPerSec, "rows/s")
		b.ReportMetric(float64(r.PeakRSS>>20), "peak-RSS-MB")
	}
}
