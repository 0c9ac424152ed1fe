package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
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
	register("vector", "local vector index: exact scan vs copy() bandwidth, HNSW recall/QPS curves and build time beside hnswlib (python3-hnswlib), peak RSS, upsert throughput (AIFLOW_VECTOR_SCALE=0.1 for a quick run)", benchVector)
}

var bctx = context.Background()

// vectorScale shrinks the vector counts for quick runs.
func vectorScale() float64 {
	if s, err := strconv.ParseFloat(os.Getenv("AIFLOW_VECTOR_SCALE"), 64); err == nil && s > 0 {
		return s
	}
	return 1
}

// vectorParts is which parts of the suite run: AIFLOW_VECTOR_PARTS, a comma-separated
// subset of rss, exact, clustered and uniform (all when unset), so that a run can be
// spent on the HNSW race alone.
func vectorParts() map[string]bool {
	parts := map[string]bool{}
	for p := range strings.SplitSeq(os.Getenv("AIFLOW_VECTOR_PARTS"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			parts[p] = true
		}
	}
	if len(parts) == 0 {
		return map[string]bool{"rss": true, "exact": true, "clustered": true, "uniform": true}
	}
	return parts
}

func benchVector() error {
	parts := vectorParts()
	n := int(100000 * vectorScale())
	dir, err := os.MkdirTemp("", "aiflow-vector-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("   GOMAXPROCS %d, %d vectors per index\n", runtime.GOMAXPROCS(0), n)
	if parts["rss"] || parts["exact"] {
		if err := benchIngestRSS(dir, n); err != nil {
			return err
		}
	}
	if parts["exact"] {
		if err := benchExact(dir, n); err != nil {
			return err
		}
	}
	return benchHNSW(n, parts)
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

// hnswEfs are the efSearch values of the recall/QPS curves: finely spaced where
// recall@10 crosses 0.95 and 0.99 on clustered data, so that both curves can be read at
// those recalls by interpolating between neighbouring points.
var hnswEfs = []int{10, 12, 14, 16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 128, 256}

// benchHNSW races aiflow's HNSW against hnswlib (through Debian's python3-hnswlib, when
// installed) on the same n × 384 vectors, clustered (1,000 Gaussian clusters) and
// uniform on the sphere: build time with M 16 and efConstruction 200 on GOMAXPROCS
// threads, then recall@10 over 200 held-out queries and queries per second on 1 and
// GOMAXPROCS goroutines for each efSearch in hnswEfs. Other work on the machine slows
// both sides alike, so the ratios are the figures to read.
func benchHNSW(n int, parts map[string]bool) error {
	const dim = 384
	fmt.Printf("   load average %s", loadAvg())
	for _, data := range []struct {
		name string
		gen  *clusters
	}{
		{"clustered", newClusters(1000, dim)},
		{"uniform", newClusters(1, dim).flat()},
	} {
		if !parts[data.name] {
			continue
		}
		if err := raceHNSW(data.name, data.gen, n, dim); err != nil {
			return err
		}
	}
	fmt.Printf("   load average %s", loadAvg())
	return nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown\n"
	}
	return string(b)
}

// hnswRow is one efSearch's figures for one side.
type hnswRow struct {
	Ef     int     `json:"ef"`
	Recall float64 `json:"recall"`
	QPS1   float64 `json:"qps1"`
	QPS2   float64 `json:"qps2"`     // on GOMAXPROCS workers
	CPU1   float64 `json:"cpu_qps1"` // queries per CPU-second on one worker
}

func raceHNSW(name string, gen *clusters, n, dim int) error {
	tmp, err := os.MkdirTemp("", "aiflow-hnsw-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	annDir, exactDir := filepath.Join(tmp, "ann"), filepath.Join(tmp, "exact")
	exact, err := localindex.Open(exactDir, exactSpec(dim))
	if err != nil {
		return err
	}
	defer exact.Close()
	baseFile, err := os.Create(filepath.Join(tmp, "base.f32"))
	if err != nil {
		return err
	}
	ann, wall, cpu, err := buildHNSW(annDir, exact, gen, n, baseFile)
	if cerr := baseFile.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	queries := gen.batch("q", 0, 200)
	truth, err := exactTruth(exact, queries)
	if err != nil {
		return err
	}
	fmt.Printf("   %s %d × %d, M 16, efConstruction 200, %d threads\n", name, n, dim, runtime.GOMAXPROCS(0))
	fmt.Printf("     aiflow build (upserts of 1000): %.1f s, %.1f CPU-s\n", wall.Seconds(), cpu.Seconds())
	peer, peerNote := runHNSWPeer(tmp, baseFile.Name(), queries, truth, dim)
	var peerRows []hnswRow
	if peer != nil {
		fmt.Printf("     hnswlib build (add_items):      %.1f s, %.1f CPU-s; aiflow ÷ hnswlib: %.2f× wall, %.2f× CPU\n",
			peer.buildWall, peer.buildCPU, wall.Seconds()/peer.buildWall, cpu.Seconds()/peer.buildCPU)
		peerRows = peer.rows
	} else {
		fmt.Printf("     hnswlib: %s\n", peerNote)
	}
	var rows []hnswRow
	for _, ef := range hnswEfs {
		ann.Close()
		spec := hnswSpec(dim)
		spec.Settings = map[string]any{"hnsw_ef_search": ef}
		if ann, err = localindex.Open(annDir, spec); err != nil {
			return err
		}
		row, err := measureHNSW(ann, queries, truth, ef)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	printHNSWCurve(rows, peerRows)
	return ann.Close()
}

// printHNSWCurve prints both curves side by side, then each side's best queries/s at
// recall@10 ≥ 0.95 and ≥ 0.99 among the measured points, and each curve read at
// exactly those recalls by linear interpolation between its two points that straddle
// them, the comparison at equal recall.
func printHNSWCurve(ours, peer []hnswRow) {
	w := runtime.GOMAXPROCS(0)
	head := fmt.Sprintf("recall  q/s 1 / %d  per CPU-s", w)
	fmt.Printf("     %4s  aiflow %-31s  hnswlib %s\n", "ef", head, head)
	for i, r := range ours {
		p := "—"
		if i < len(peer) {
			p = fmt.Sprintf("%.4f  %6.0f / %6.0f  %6.0f", peer[i].Recall, peer[i].QPS1, peer[i].QPS2, peer[i].CPU1)
		}
		fmt.Printf("     %4d  %.4f  %6.0f / %6.0f  %6.0f         %s\n", r.Ef, r.Recall, r.QPS1, r.QPS2, r.CPU1, p)
	}
	for _, target := range []float64{0.95, 0.99} {
		a, b := bestAt(ours, target), bestAt(peer, target)
		line := fmt.Sprintf("     recall ≥ %.2f: aiflow %s", target, a)
		if peer != nil {
			line += ", hnswlib " + b.String()
			if a.ok && b.ok {
				line += fmt.Sprintf("; aiflow ÷ hnswlib %.2f× (1 thread), %.2f× (%d), %.2f× per CPU-second", a.qps1/b.qps1, a.qps2/b.qps2, w, a.cpu1/b.cpu1)
			}
		}
		fmt.Println(line)
	}
	for _, target := range []float64{0.95, 0.99} {
		a, b := atRecall(ours, target), atRecall(peer, target)
		line := fmt.Sprintf("     at recall %.2f, interpolated: aiflow %s", target, a)
		if peer != nil {
			line += ", hnswlib " + b.String()
			if a.ok && b.ok {
				line += fmt.Sprintf("; aiflow ÷ hnswlib %.2f× (1 thread), %.2f× (%d), %.2f× per CPU-second", a.qps1/b.qps1, a.qps2/b.qps2, w, a.cpu1/b.cpu1)
			}
		}
		fmt.Println(line)
	}
}

// interp is one curve's figures read at a recall between two of its points.
type interp struct {
	ok               bool
	lo, hi           hnswRow // the points read between; equal when the first already reaches it
	qps1, qps2, cpu1 float64
}

func (p interp) String() string {
	if !p.ok {
		return "not reached"
	}
	where := fmt.Sprintf("between ef %d (%.4f) and ef %d (%.4f)", p.lo.Ef, p.lo.Recall, p.hi.Ef, p.hi.Recall)
	if p.lo.Ef == p.hi.Ef {
		where = fmt.Sprintf("at ef %d (%.4f), its lowest ef", p.lo.Ef, p.lo.Recall)
	}
	return fmt.Sprintf("%.0f / %.0f q/s, %.0f per CPU-s (%s)", p.qps1, p.qps2, p.cpu1, where)
}

// atRecall reads a curve, its rows in increasing ef, at recall target: linearly in
// recall between the last row below the target and the first that reaches it. A curve
// whose first row already reaches the target is read at that row (no extrapolation).
func atRecall(rows []hnswRow, target float64) interp {
	for i, hi := range rows {
		if hi.Recall < target {
			continue
		}
		if i == 0 {
			return interp{true, hi, hi, hi.QPS1, hi.QPS2, hi.CPU1}
		}
		lo := rows[i-1]
		t := (target - lo.Recall) / (hi.Recall - lo.Recall)
		at := func(a, b float64) float64 { return a + t*(b-a) }
		return interp{true, lo, hi, at(lo.QPS1, hi.QPS1), at(lo.QPS2, hi.QPS2), at(lo.CPU1, hi.CPU1)}
	}
	return interp{}
}

type best struct {
	ok               bool
	ef               int
	qps1, qps2, cpu1 float64
}

func (b best) String() string {
	if !b.ok {
		return "not reached"
	}
	return fmt.Sprintf("%.0f / %.0f q/s, %.0f per CPU-s (ef %d)", b.qps1, b.qps2, b.cpu1, b.ef)
}

// bestAt is the row with the most queries per CPU-second (the figure least moved by
// other work on the machine) among those reaching recall target.
func bestAt(rows []hnswRow, target float64) best {
	var b best
	for _, r := range rows {
		if r.Recall >= target && r.CPU1 > b.cpu1 {
			b = best{true, r.Ef, r.QPS1, r.QPS2, r.CPU1}
		}
	}
	return b
}

func hnswSpec(dim int) providers.IndexSpec {
	s := exactSpec(dim)
	s.ANN = "hnsw"
	return s
}

// buildHNSW upserts n vectors into a new HNSW index (timed) and into exact, and writes
// them to base as little-endian float32 rows for the peer.
func buildHNSW(dir string, exact *localindex.Index, gen *clusters, n int, base io.Writer) (*localindex.Index, time.Duration, time.Duration, error) {
	ann, err := localindex.Open(dir, hnswSpec(len(gen.centres[0])))
	if err != nil {
		return nil, 0, 0, err
	}
	bw := bufio.NewWriterSize(base, 1<<20)
	var took, cpu time.Duration
	for done := 0; done < n; done += 1000 {
		b := gen.batch("v", done, min(1000, n-done))
		start, cpu0 := time.Now(), cpuTime()
		if _, err := ann.Upsert(bctx, b); err != nil {
			return nil, 0, 0, err
		}
		took += time.Since(start)
		cpu += cpuTime() - cpu0
		if _, err := exact.Upsert(bctx, b); err != nil {
			return nil, 0, 0, err
		}
		for _, v := range b {
			binary.Write(bw, binary.LittleEndian, v.Values)
		}
	}
	return ann, took, cpu, bw.Flush()
}

// exactTruth is each query's exact top-10 as base row numbers.
func exactTruth(exact *localindex.Index, queries []providers.Vector) ([][]int32, error) {
	truth := make([][]int32, len(queries))
	for i, q := range queries {
		ms, err := exact.Query(bctx, providers.VectorQuery{Vector: q.Values, TopK: 10})
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			row, err := strconv.Atoi(strings.TrimPrefix(m.ID, "v"))
			if err != nil {
				return nil, fmt.Errorf("exact match id %q: %w", m.ID, err)
			}
			truth[i] = append(truth[i], int32(row))
		}
	}
	return truth, nil
}

func measureHNSW(ann *localindex.Index, queries []providers.Vector, truth [][]int32, ef int) (hnswRow, error) {
	row := hnswRow{Ef: ef}
	var hits, want int
	for i, q := range queries {
		got, err := ann.Query(bctx, providers.VectorQuery{Vector: q.Values, TopK: 10})
		if err != nil {
			return row, err
		}
		in := map[string]bool{}
		for _, m := range got {
			in[m.ID] = true
		}
		for _, t := range truth[i] {
			if in["v"+strconv.Itoa(int(t))] {
				hits++
			}
		}
		want += len(truth[i])
	}
	row.Recall = float64(hits) / float64(max(want, 1))
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		qps, perCPU, err := queryRates(func(i int) error {
			_, err := ann.Query(bctx, providers.VectorQuery{Vector: queries[i%len(queries)].Values, TopK: 10})
			return err
		}, workers)
		if err != nil {
			return row, err
		}
		if workers == 1 {
			row.QPS1, row.CPU1 = qps, perCPU
		}
		row.QPS2 = qps
	}
	return row, nil
}

// hnswPeer is hnswlib's build time and curve.
type hnswPeer struct {
	buildWall, buildCPU float64
	rows                []hnswRow
}

// peerScript is bench/hnswlib_peer.py beside this file.
func peerScript() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "hnswlib_peer.py")
}

// runHNSWPeer runs hnswlib over the vectors in basePath. When no python3 can import
// hnswlib it returns nil and a note saying how to get the peer column.
func runHNSWPeer(tmp, basePath string, queries []providers.Vector, truth [][]int32, dim int) (*hnswPeer, string) {
	python := ""
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import hnswlib, numpy").Run() == nil {
			python = py
			break
		}
	}
	if python == "" {
		return nil, "skipped: no python3 with hnswlib (apt-get install python3-hnswlib)"
	}
	qPath, tPath := filepath.Join(tmp, "queries.f32"), filepath.Join(tmp, "truth.i32")
	var qb, tb bytes.Buffer
	for i, q := range queries {
		binary.Write(&qb, binary.LittleEndian, q.Values)
		t := make([]int32, 10)
		for j := range t {
			t[j] = -1
		}
		copy(t, truth[i])
		binary.Write(&tb, binary.LittleEndian, t)
	}
	if err := os.WriteFile(qPath, qb.Bytes(), 0o600); err != nil {
		return nil, err.Error()
	}
	if err := os.WriteFile(tPath, tb.Bytes(), 0o600); err != nil {
		return nil, err.Error()
	}
	args, _ := json.Marshal(map[string]any{
		"base": basePath, "queries": qPath, "truth": tPath, "dim": dim, "m": 16, "efc": 200,
		"threads": runtime.GOMAXPROCS(0), "k": 10, "efs": hnswEfs, "seconds": 3,
	})
	cmd := exec.Command(python, peerScript(), string(args))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Sprintf("failed: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	p := &hnswPeer{}
	w := strconv.Itoa(runtime.GOMAXPROCS(0))
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var m map[string]float64
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return nil, fmt.Sprintf("bad output line %q: %v", line, err)
		}
		if _, ok := m["build_seconds"]; ok {
			p.buildWall, p.buildCPU = m["build_seconds"], m["build_cpu"]
			continue
		}
		p.rows = append(p.rows, hnswRow{Ef: int(m["ef"]), Recall: m["recall"], QPS1: m["qps1"], QPS2: m["qps"+w], CPU1: m["cpu_qps1"]})
	}
	return p, ""
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

// flat turns c into uniform data on the sphere: with one centre at the origin, batch
// draws isotropic Gaussian noise, and the index normalises it for cosine.
func (c *clusters) flat() *clusters {
	clear(c.centres[0])
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
