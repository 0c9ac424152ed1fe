package localindex

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
)

const (
	crashDirEnv   = "LOCALINDEX_CRASH_DIR"
	crashStartEnv = "LOCALINDEX_CRASH_START"
	crashDim      = 24
)

// crashBatchSize varies so that some records take many pages and can be torn by the kill.
func crashBatchSize(b int) int {
	switch {
	case b%3 != 2:
		return 40
	case raceEnabled:
		return 600
	}
	return 4000
}

// crashBatchVectors is batch b of the crash writer: deterministic, so the parent can
// rebuild what each acknowledged batch held.
func crashBatchVectors(b int) []providers.Vector {
	r := rand.New(rand.NewPCG(uint64(b), 99))
	vs := make([]providers.Vector, crashBatchSize(b))
	for i := range vs {
		vs[i] = providers.Vector{
			ID:       fmt.Sprintf("b%d-%d", b, i),
			Values:   randVec(r, crashDim),
			Metadata: map[string]any{"batch": float64(b), "i": float64(i)},
			Text:     fmt.Sprintf("batch %d item %d", b, i),
		}
	}
	return vs
}

// crashDeletes is the batch whose first half batch b deletes, or -1.
func crashDeletes(b int) int {
	if b%5 == 4 {
		return b - 3
	}
	return -1
}

func crashIDs(b int) []string {
	ids := make([]string, crashBatchSize(b)/2)
	for i := range ids {
		ids[i] = fmt.Sprintf("b%d-%d", b, i)
	}
	return ids
}

// TestCrashWriter is the subprocess of TestCrashRecovery; it does nothing unless run by it.
// It writes batches forever and prints "ack N" once batch N (and its delete) is durable.
func TestCrashWriter(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only runs as the subprocess of TestCrashRecovery")
	}
	start, _ := strconv.Atoi(os.Getenv(crashStartEnv))
	x, err := Open(dir, testSpec(crashDim, metricEuclidean))
	if err != nil {
		fmt.Println("open error:", err)
		os.Exit(3)
	}
	for b := start; ; b++ {
		if _, err := x.Upsert(ctx, crashBatchVectors(b)); err != nil {
			fmt.Println("upsert error:", err)
			os.Exit(3)
		}
		if d := crashDeletes(b); d >= 0 {
			if _, err := x.DeleteByIDs(ctx, crashIDs(d)); err != nil {
				fmt.Println("delete error:", err)
				os.Exit(3)
			}
		}
		if b%9 == 8 {
			if err := x.Compact(); err != nil {
				fmt.Println("compact error:", err)
				os.Exit(3)
			}
		}
		fmt.Printf("ack %d\n", b)
	}
}

// runCrashWriter starts the writer at batch start, kills it with SIGKILL after it has
// acknowledged killAfter batches, and returns every batch it acknowledged.
func runCrashWriter(t *testing.T, dir string, start, killAfter int) []int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriter$", "-test.v=false")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashStartEnv+"="+strconv.Itoa(start))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		n, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			if strings.Contains(line, "error") {
				t.Errorf("writer: %s", line)
			}
			continue
		}
		b, _ := strconv.Atoi(n)
		acked = append(acked, b)
		if len(acked) == killAfter {
			cmd.Process.Kill() // SIGKILL on unix
		}
	}
	cmd.Wait()
	if len(acked) < killAfter {
		t.Fatalf("writer acknowledged only %d batches", len(acked))
	}
	return acked
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns subprocesses")
	}
	dir := t.TempDir()
	spec := testSpec(crashDim, metricEuclidean)
	next := 0
	for round, killAfter := range []int{7, 23, 3, 41} {
		acked := runCrashWriter(t, dir, next, killAfter)
		last := acked[len(acked)-1]
		x, err := Open(dir, spec)
		if err != nil {
			t.Fatalf("round %d: reopening after SIGKILL: %v", round, err)
		}
		checkCrashState(t, x, last)
		x.Close()
		next = last + 1 // the writer redoes the batch in flight; upserts and deletes are idempotent
	}
}

// checkCrashState verifies every acknowledged batch through last, and that the batch in
// flight at the kill is either wholly present or wholly absent.
func checkCrashState(t *testing.T, x *Index, last int) {
	t.Helper()
	deleted := map[string]bool{}
	for b := 0; b <= last; b++ {
		if d := crashDeletes(b); d >= 0 {
			for _, id := range crashIDs(d) {
				deleted[id] = true
			}
		}
	}
	var want []providers.Vector
	var gone []string
	for b := 0; b <= last; b++ {
		for _, v := range crashBatchVectors(b) {
			if deleted[v.ID] {
				gone = append(gone, v.ID)
			} else {
				want = append(want, v)
			}
		}
	}
	present := presentIDs(t, x, crashBatchVectors(last+1))
	if n := crashBatchSize(last + 1); present != 0 && present != n {
		t.Errorf("batch in flight at the kill is partly present: %d of %d", present, n)
	}
	got := getAll(t, x, want)
	if len(got) != len(want) {
		t.Fatalf("%d of %d acknowledged vectors present after the kill", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.ID != w.ID || !equalBits(g.Values, w.Values) || g.Text != w.Text || g.Metadata["batch"] != w.Metadata["batch"] {
			t.Fatalf("vector %s not intact: got %+v", w.ID, g)
		}
	}
	if g, _ := x.GetByIDs(ctx, gone); len(g) != 0 {
		t.Errorf("%d acknowledged deletes undone", len(g))
	}
}

func presentIDs(t *testing.T, x *Index, vs []providers.Vector) int {
	return len(getAll(t, x, vs))
}
