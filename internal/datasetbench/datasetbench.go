// Package datasetbench is the dataset-run benchmark shared by `go run ./bench dataset`
// and the dataset package's Go benchmark: a transform-only flow over a generated JSONL
// file of n rows, results written to a file, as `aiflow run --inputs` does.
package datasetbench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/aiflow/aiflow/dataset"
	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/transform"
)

// Flow is the benchmark's flow: two transform steps per row.
const Flow = `aiflow: 1
name: dataset-bench
vars:
  id: { type: integer }
  text: { type: string }
steps:
  clean:
    uses: transform
    with:
      expr: ${ lower(trim(vars.text)) }
  words:
    uses: transform
    with:
      expr: ${ len(split(steps.clean.output.value, " ")) }
outputs:
  id: ${ vars.id }
  text: ${ steps.clean.output.value }
  words: ${ steps.words.output.value }
`

// WriteRows writes n JSONL rows to path.
func WriteRows(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "{\"id\":%d,\"text\":\"  Row %d Of The Benchmark Dataset, With A Few Words  \"}\n", i, i)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Result is what one benchmark run measured.
type Result struct {
	Rows       int
	Failed     int
	Elapsed    time.Duration
	RowsPerSec float64
	PeakRSS    int64 // bytes, the process's high-water mark
}

// Run runs the flow over the n rows written to dir (writing them first) and measures it.
func Run(dir string, n int) (Result, error) {
	rows := filepath.Join(dir, "rows.jsonl")
	if err := WriteRows(rows, n); err != nil {
		return Result{}, err
	}
	reg := steps.NewRegistry()
	reg.Register(transform.Kind)
	f, diags := spec.Parse(filepath.Join(dir, "bench.yaml"), []byte(Flow))
	if diags.HasErrors() {
		return Result{}, diags.Err()
	}
	fl, diags := engine.Compile(f, engine.Options{Steps: reg, Providers: providers.NewRegistry()})
	if diags.HasErrors() {
		return Result{}, diags.Err()
	}
	st, err := store.Open(filepath.Join(dir, ".aiflow"))
	if err != nil {
		return Result{}, err
	}
	defer st.Close()
	src, err := dataset.Open(rows)
	if err != nil {
		return Result{}, err
	}
	defer src.Close()
	m, err := dataset.ResolveMap([]string{"id", "text"}, src.Columns(), nil)
	if err != nil {
		return Result{}, err
	}
	out, err := os.Create(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		return Result{}, err
	}
	defer out.Close()
	stats, err := dataset.Run(context.Background(), dataset.Options{Flow: fl, Source: src, Map: m,
		Run: engine.RunOptions{Store: st, StateDir: filepath.Join(dir, ".aiflow")}, Parallelism: runtime.NumCPU() * 4, Results: out})
	if err != nil {
		return Result{}, err
	}
	if stats.Done != n {
		return Result{}, fmt.Errorf("%d of %d rows written", stats.Done, n)
	}
	return Result{Rows: stats.Done, Failed: stats.Failed, Elapsed: stats.Elapsed, RowsPerSec: stats.RowsPerSecond(), PeakRSS: PeakRSS()}, nil
}

// PeakRSS is the process's peak resident set size in bytes (0 where unknown).
func PeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10 // kilobytes on Linux
}
