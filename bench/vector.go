package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/localindex"
)

// vectorChildEnv makes the bench binary act as a measurement subprocess, so that peak
// RSS (VmHWM) covers the index alone and not the parent's other suites.
const vectorChildEnv = "AIFLOW_VECTOR_BENCH_CHILD"

func init() {
	if job := os.Getenv(vectorChildEnv); job != "" {
		os.Exit(vectorChild(job))
	}
	register("vector", "local vector index: exact scan vs copy() bandwidth, HNSW recall and queries/s, peak RSS, upsert throughput (AIFLOW_VECTOR_SCALE=0.1 for a quick run)", benchVector)
}

var bctx = context.Background()

// vectorScale shrinks the vector counts for quick runs.
func vectorScale() float64 {
	if s, err := strconv.ParseFloat(os.Getenv("AIFLOW_VECTOR_SCALE"), 64); err == nil && s > 0 {
		return s
	}
	return 1
}

func benchVector() error {
	n := int(100000 * vectorScale())
	dir, err := os.MkdirTemp("", "aiflow-vector-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("   GOMAXPROCS %d, %d vectors per index\n", runtime.GOMAXPROCS(0), n)
	if err := benchIngestRSS(dir, n); err != nil {
		return err
	}
	if err := benchExact(dir, n); err != nil {
		return err
	}
	return benchHNSW(n)
}

// benchIngestRSS ingests n × 768 vectors in a fresh subprocess, then reopens them in
// another, reporting upsert throughput and peak RSS against the raw float32 size.
func benchIngestRSS(dir string, n int) error {
	raw := float64(n*768*4) / 1e6
	for _, job := range []string{"ingest", "open"} {
		r, err := runVectorChild(job, dir, n)
		if err != nil {
			return err
		}
		hwm := r["hwm_kb"] / 1e3
		if job == "ingest" {
			fmt.Printf("   upsert %d × 768 (cosine, batches of 1000, fsync each): %.0f vectors/s\n", n, float64(n)/r["seconds"])
		} else {
			fmt.Printf("   reopen (snapshot + log replay): %.2f s\n", r["seconds"])
		}
		fmt.Printf("   peak RSS after %-6s %7.1f MB = %.3f × raw float32 (%.1f MB; target ≤ 1.2)\n", job+":", hwm, hwm/raw, raw)
	}
	return nil
}

func runVectorChild(job, dir string, n int) (map[string]float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%d:%s", vectorChildEnv, job, n, dir))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("vector bench child %s: %w: %s", job, err, stderr.String())
	}
	res := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if f, err := strconv.ParseFloat(v, 64); ok && err == nil {
			res[k] = f
		}
	}
	return res, nil
}

// vectorChild runs one measurement job ("ingest" or "open") and prints key=value lines.
func vectorChild(job string) int {
	parts := strings.SplitN(job, ":", 3)
	if len(parts) != 3 {
		fmt.Fprintln(os.Stderr, "bad child job", job)
		return 2
	}
	n, _ := strconv.Atoi(parts[1])
	start := time.Now()
	var err error
	switch parts[0] {
	case "ingest":
		err = ingest(parts[2], n)
	case "open":
		var x *localindex.Index
		if x, err = localindex.Open(parts[2], exactSpec(768)); err == nil {
			err = x.Close()
		}
	default:
		err = fmt.Errorf("unknown job %q", parts[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("seconds=%f\nhwm_kb=%d\n", time.Since(start).Seconds(), vmHWM())
	return 0
}

func exactSpec(dim int) providers.IndexSpec {
	return providers.IndexSpec{Name: "bench", Backend: "local", Dimensions: dim, Metric: "cosine"}
}

// ingest upserts n random 768-dimensional vectors, reusing one batch of buffers so that
// the generator adds nothing to peak RSS.
func ingest(dir string, n int) error {
	x, err := localindex.Open(dir, exactSpec(768))
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	batch := make([]providers.Vector, 1000)
	for i := range batch {
		batch[i].Values = make([]float32, 768)
	}
	for done := 0; done < n; {
		b := batch[:min(len(batch), n-done)]
		for i := range b {
			b[i].ID = "v" + strconv.Itoa(done+i)
			for j := range b[i].Values {
				b[i].Values[j] = float32(r.NormFloat64())
			}
		}
		if _, err := x.Upsert(bctx, b); err != nil {
			return err
		}
		done += len(b)
	}
	return x.Close()
}

// vmHWM reads the process's peak resident set size in kB.
func vmHWM() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb
		}
	}
	return 0
}

// cpuTime is this process's user+system CPU time from /proc/self/stat (Linux; 0
// elsewhere), so figures can be read per CPU-second when other work shares the machine.
func cpuTime() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	_, rest, ok := bytes.Cut(b, []byte(") "))
	f := strings.Fields(string(rest))
	if !ok || len(f) < 13 {
		return 0
	}
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// benchExact measures top-10 exact queries over the ingested index and compares the scan
// rate with copy() bandwidth.
func benchExact(dir string, n int) error {
	x, err := localindex.Open(dir, exactSpec(768))
	if err != nil {
		return err
	}
	defer x.Close()
	r := rand.New(rand.NewPCG(3, 4))
	q := make([]float32, 768)
	for i := range q {
		q[i] = float32(r.NormFloat64())
	}
	qps, perCPU, err := queryRates(func(int) error {
		_, err := x.Query(bctx, providers.VectorQuery{Vector: q, TopK: 10})
		return err
	}, 1)
	if err != nil {
		return err
	}
	scan := qps * float64(n*768*4)
	single, parallel := copyBandwidth()
	fmt.Printf("   exact top-10 over %d × 768: %.1f queries/s (%.1f per CPU-second), scanning %.1f GB/s\n", n, qps, perCPU, scan/1e9)
	fmt.Printf("   copy() of 512 MiB: %.1f GB/s on one goroutine, %.1f GB/s on %d (each byte read and written)\n",
		single/1e9, parallel/1e9, runtime.GOMAXPROCS(0))
	fmt.Printf("   scan rate ÷ copy bandwidth: %.2f (one goroutine), %.2f (all)\n", scan/single, scan/parallel)
	return nil
}

// queriesPerSecond runs fn from workers goroutines for about three seconds.
func queriesPerSecond(fn func(i int) error, workers int) (float64, error) {
	qps, _, err := queryRates(fn, workers)
	return qps, err
}

// queryRates is queriesPerSecond plus queries per CPU-second.
func queryRates(fn func(i int) error, workers int) (perSec, perCPUSec float64, err error) {
	if err := fn(0); err != nil { // warm up
		return 0, 0, err
	}
	cpu0 := cpuTime()
	var mu sync.Mutex
	var total int
	var firstErr error
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			count := 0
			for i := w; time.Since(start) < 3*time.Second; i += workers {
				if err := fn(i); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				count++
			}
			mu.Lock()
			total += count
			mu.Unlock()
		})
	}
	wg.Wait()
	wall, cpu := time.Since(start).Seconds(), (cpuTime() - cpu0).Seconds()
	return float64(total) / wall, float64(total) / max(cpu, 0.01), firstErr
}

// copyBandwidth is the best of five copies of a 512 MiB buffer, in bytes copied per
// second, on one goroutine and split over GOMAXPROCS goroutines.
func copyBandwidth() (single, parallel float64) {
	const size = 512 << 20
	src, dst := make([]byte, size), make([]byte, size)
	for i := range src {
		src[i] = byte(i)
	}
	copy(dst, src)
	best := func(parts int) float64 {
		var b time.Duration = 1 << 62
		for range 5 {
			start := time.Now()
			var wg sync.WaitGroup
			for p := range parts {
				lo, hi := p*size/parts, (p+1)*size/parts
				wg.Go(func() { copy(dst[lo:hi], src[lo:hi]) })
			}
			wg.Wait()
			b = min(b, time.Since(start))
		}
		return size / b.Seconds()
	}
	return best(1), best(runtime.GOMAXPROCS(0))
}

// benchHNSW builds an HNSW and an exact index over the same n × 384 clustered vectors
// (1,000 Gaussian clusters) and measures build time, then recall@10 over 200 held-out
// queries and queries per second at efSearch 128 (the default) and, after a reopen that
// loads the saved graph, at 64.
func benchHNSW(n int) error {
	const dim, clusters = 384, 1000
	annDir, err := os.MkdirTemp("", "aiflow-hnsw-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(annDir)
	exactDir, err := os.MkdirTemp("", "aiflow-exact-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(exactDir)
	exact, err := localindex.Open(exactDir, exactSpec(dim))
	if err != nil {
		return err
	}
	defer exact.Close()
	gen := newClusters(clusters, dim)
	ann, err := buildHNSW(annDir, exact, gen, n, dim)
	if err != nil {
		return err
	}
	queries := gen.batch("q", 0, 200)
	qps, err := queriesPerSecond(func(i int) error {
		_, err := exact.Query(bctx, providers.VectorQuery{Vector: queries[i%len(queries)].Values, TopK: 10})
		return err
	}, 1)
	if err != nil {
		return err
	}
	fmt.Printf("   exact top-10 over the same %d × %d: %.0f queries/s\n", n, dim, qps)
	for _, ef := range []int{128, 64} {
		if ef != 128 {
			ann.Close()
			spec := hnswSpec(dim)
			spec.Settings = map[string]any{"hnsw_ef_search": ef}
			start := time.Now()
			if ann, err = localindex.Open(annDir, spec); err != nil {
				return err
			}
			fmt.Printf("   reopen with the saved graph: %.2f s\n", time.Since(start).Seconds())
		}
		if err := measureHNSW(ann, exact, queries, ef); err != nil {
			return err
		}
	}
	return ann.Close()
}

func hnswSpec(dim int) providers.IndexSpec {
	s := exactSpec(dim)
	s.ANN = "hnsw"
	return s
}

// buildHNSW upserts n vectors into a new HNSW index (timed) and into exact.
func buildHNSW(dir string, exact *localindex.Index, gen *clusters, n, dim int) (*localindex.Index, error) {
	ann, err := localindex.Open(dir, hnswSpec(dim))
	if err != nil {
		return nil, err
	}
	var took, cpu time.Duration
	for done := 0; done < n; done += 1000 {
		b := gen.batch("v", done, min(1000, n-done))
		start, cpu0 := time.Now(), cpuTime()
		if _, err := ann.Upsert(bctx, b); err != nil {
			return nil, err
		}
		took += time.Since(start)
		cpu += cpuTime() - cpu0
		if _, err := exact.Upsert(bctx, b); err != nil {
			return nil, err
		}
	}
	fmt.Printf("   hnsw build %d × %d (M 16, efConstruction 200, upserts of 1000): %.1f s, %.0f vectors/s; %.1f CPU-seconds\n",
		n, dim, took.Seconds(), float64(n)/took.Seconds(), cpu.Seconds())
	return ann, nil
}

func measureHNSW(ann, exact *localindex.Index, queries []providers.Vector, ef int) error {
	recall, err := recallAt10(ann, exact, queries)
	if err != nil {
		return err
	}
	var rates []string
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		qps, perCPU, err := queryRates(func(i int) error {
			_, err := ann.Query(bctx, providers.VectorQuery{Vector: queries[i%len(queries)].Values, TopK: 10})
			return err
		}, workers)
		if err != nil {
			return err
		}
		rates = append(rates, fmt.Sprintf("%.0f queries/s on %d goroutine(s) (%.0f per CPU-second)", qps, workers, perCPU))
	}
	fmt.Printf("   hnsw efSearch %d: recall@10 %.4f over 200 held-out queries; %s\n", ef, recall, strings.Join(rates, ", "))
	return nil
}

func recallAt10(ann, exact *localindex.Index, queries []providers.Vector) (float64, error) {
	var sum float64
	for _, q := range queries {
		got, err := ann.Query(bctx, providers.VectorQuery{Vector: q.Values, TopK: 10})
		if err != nil {
			return 0, err
		}
		want, err := exact.Query(bctx, providers.VectorQuery{Vector: q.Values, TopK: 10})
		if err != nil {
			return 0, err
		}
		in := map[string]bool{}
		for _, m := range want {
			in[m.ID] = true
		}
		for _, m := range got {
			if in[m.ID] {
				sum += 1 / float64(len(want))
			}
		}
	}
	return sum / float64(len(queries)), nil
}

// clusters draws vectors around fixed Gaussian centres with unit noise.
type clusters struct {
	r       *rand.Rand
	centres [][]float32
}

func newClusters(k, dim int) *clusters {
	c := &clusters{r: rand.New(rand.NewPCG(5, 6)), centres: make([][]float32, k)}
	for i := range c.centres {
		c.centres[i] = make([]float32, dim)
		for j := range c.centres[i] {
			c.centres[i][j] = float32(c.r.NormFloat64())
		}
	}
	return c
}

func (c *clusters) batch(prefix string, from, n int) []providers.Vector {
	vs := make([]providers.Vector, n)
	for i := range vs {
		centre := c.centres[c.r.IntN(len(c.centres))]
		v := make([]float32, len(centre))
		for j := range v {
			v[j] = centre[j] + float32(c.r.NormFloat64())
		}
		vs[i] = providers.Vector{ID: prefix + strconv.Itoa(from+i), Values: v}
	}
	return vs
}
