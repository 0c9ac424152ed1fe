package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/aiflow/aiflow/internal/datasetbench"
)

// datasetChildEnv runs the dataset suite's measured part in a child process, so its peak
// RSS is the dataset run's alone.
const datasetChildEnv = "AIFLOW_BENCH_DATASET_CHILD"

const datasetRows = 100_000

func init() {
	register("dataset", "dataset run: 100,000 rows, transform-only flow, results streamed to a file (targets: peak RSS < 200 MB, ≥ 2,000 rows/s)", benchDataset)
}

func benchDataset() error {
	dir, err := os.MkdirTemp("", "aiflow-bench-dataset-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), datasetChildEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("child: %v\n%s", err, out)
	}
	rss := int64(0)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss << 10
	}
	fmt.Printf("   %s\n   peak RSS %d MB (target < 200), whole process\n", strings.TrimSpace(string(out)), rss>>20)
	if rss >= 200<<20 {
		return fmt.Errorf("peak RSS %d MB, over 200 MB", rss>>20)
	}
	return nil
}

// runDatasetChild is the child's side: run the rows and print the rate.
func runDatasetChild(dir string) error {
	r, err := datasetbench.Run(dir, datasetRows)
	if err != nil {
		return err
	}
	fmt.Printf("%d rows (%d failed) in %s: %.0f rows/s (target ≥ 2,000)", r.Rows, r.Failed, r.Elapsed.Round(1e6), r.RowsPerSec)
	if r.RowsPerSec < 2000 {
		return fmt.Errorf("%.0f rows/s, under 2,000", r.RowsPerSec)
	}
	return nil
}
