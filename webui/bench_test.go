package webui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/uibench"
)

// TestMain removes the benchmarks' shared state after the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchState.Dir != "" {
		os.RemoveAll(filepath.Dir(benchState.Dir))
	}
	os.Exit(code)
}

var (
	benchOnce  sync.Once
	benchState uibench.State
	benchErr   error
)

// benchServer builds, once per test binary, a state of 1,000 runs whose newest has a
// 10,000-item step, and serves it over real HTTP on loopback.
func benchServer(b *testing.B) (*httptest.Server, uibench.State) {
	b.Helper()
	benchOnce.Do(func() {
		dir, err := tempDir()
		if err != nil {
			benchErr = err
			return
		}
		benchState, benchErr = uibench.Build(dir, 1000, 10000)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	st, err := store.Open(benchState.Dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	s, err := New(Options{Store: st, StateDir: benchState.Dir, Loopback: true})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s)
	b.Cleanup(ts.Close)
	return ts, benchState
}

func fetchAll(b *testing.B, base string, paths []string) {
	for _, p := range paths {
		res, err := http.Get(base + p)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || n == 0 {
			b.Fatalf("GET %s: %d (%d bytes)", p, res.StatusCode, n)
		}
	}
}

// BenchmarkUIRunsList times opening the runs list of a state with 1,000 runs: the page,
// its assets and the first page of runs (target: under a second).
func BenchmarkUIRunsList(b *testing.B) {
	ts, _ := benchServer(b)
	for b.Loop() {
		fetchAll(b, ts.URL, uibench.ListRequests())
	}
}

// BenchmarkUIRun10kItems times opening a run whose step has 10,000 items, with that
// step selected: run, DAG and costs, timeline, and the step's detail (target: under a
// second).
func BenchmarkUIRun10kItems(b *testing.B) {
	ts, st := benchServer(b)
	for b.Loop() {
		fetchAll(b, ts.URL, uibench.RunRequests(st.BigRun, "each"))
	}
}

// BenchmarkUIEndpoints10k times each request of BenchmarkUIRun10kItems alone, to show
// where the time of opening a large run goes.
func BenchmarkUIEndpoints10k(b *testing.B) {
	ts, st := benchServer(b)
	for _, p := range uibench.RunRequests(st.BigRun, "each") {
		b.Run(strings.TrimPrefix(strings.ReplaceAll(p, "/api/runs/"+st.BigRun, "run"), "/"), func(b *testing.B) {
			for b.Loop() {
				fetchAll(b, ts.URL, []string{p})
			}
		})
	}
}
