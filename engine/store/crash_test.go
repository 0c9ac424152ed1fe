//go:build unix

package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func init() { helpers["crash-writer"] = crashWriter }

// crashWriter is the helper that writes records in a loop from several
// goroutines and prints one "ack" line per acknowledged write, until killed.
func crashWriter() int {
	ctx := context.Background()
	s, err := OpenWith(os.Getenv("STORE_DIR"), Options{URL: os.Getenv("STORE_URL")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var mu sync.Mutex
	ack := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...) // unbuffered: one write(2) per line
	}
	round := os.Getenv("ROUND")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				if err := crashWrite(ctx, s, round, g, i, ack); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
			}
		})
	}
	wg.Wait()
	return 0
}

// crashWrite does one acknowledged write: a step record, a batch of two, or a
// cache entry, with a payload big enough to trigger WAL checkpoints often.
func crashWrite(ctx context.Context, s *Store, round string, g, i int, ack func(string, ...any)) error {
	step := fmt.Sprintf("%s-g%d", round, g)
	switch i % 3 {
	case 0:
		if err := s.PutStep(ctx, crashRecord(step, i)); err != nil {
			return err
		}
		ack("step %s %d", step, i)
	case 1:
		if err := s.PutSteps(ctx, crashRecord(step, i), crashRecord(step+"b", i)); err != nil {
			return err
		}
		ack("step %s %d", step, i)
		ack("step %s %d", step+"b", i)
	default:
		key := fmt.Sprintf("%s/%d", step, i)
		if err := s.CachePut(ctx, CacheEntry{Key: key, StepID: step, Value: crashPayload(step, i)}); err != nil {
			return err
		}
		ack("cache %s", key)
	}
	return nil
}

func crashRecord(step string, i int) StepRecord {
	return StepRecord{RunID: "crash", StepID: step, Item: i, Status: StepSucceeded,
		Output: crashPayload(step, i), StartedAt: t0}
}

func crashPayload(step string, i int) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"step": step, "i": i, "pad": strings.Repeat("x", 3000)})
	return b
}

// TestCrashDurability kills a writing process with SIGKILL at arbitrary
// points, several times over the same directory, and checks that every write
// it acknowledged before dying survives and the database is intact.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	setup := openStore(t, dir)
	if err := setup.CreateRun(context.Background(), Run{ID: "crash"}); err != nil {
		t.Fatal(err)
	}
	var acked []string
	for round, killAfter := range []int{1, 97, 400, 1200} {
		t.Run(fmt.Sprintf("kill after %d acks", killAfter), func(t *testing.T) {
			acked = append(acked, runAndKill(t, dir, fmt.Sprint(round), killAfter)...)
			verifyAcked(t, dir, acked)
		})
	}
}

// runAndKill starts a crash writer, SIGKILLs it once it has acknowledged
// killAfter writes, and returns every ack it printed before it died.
func runAndKill(t *testing.T, dir, round string, killAfter int) []string {
	cmd := helperCommand(t, "crash-writer", "STORE_DIR="+dir, "STORE_URL="+testOptions(t, dir).URL, "ROUND="+round)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acks []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		acks = append(acks, sc.Text())
		if len(acks) == killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("writer ended by itself (%v) after %d acks; see its stderr", err, len(acks))
	}
	if len(acks) < killAfter {
		t.Fatalf("writer died after %d acks, before the kill", len(acks))
	}
	return acks
}

// checkBatchesWhole checks that each two-record PutSteps batch is on disk
// entirely or not at all, acknowledged or not: a kill mid-transaction must
// not leave half of it.
func checkBatchesWhole(t *testing.T, have map[string]string) {
	t.Helper()
	for k := range have {
		var step string
		var i int
		if _, err := fmt.Sscanf(k, "step %s %d", &step, &i); err != nil || i%3 != 1 {
			continue
		}
		pair := fmt.Sprintf("step %sb %d", step, i)
		if strings.HasSuffix(step, "b") {
			pair = fmt.Sprintf("step %s %d", strings.TrimSuffix(step, "b"), i)
		}
		if _, ok := have[pair]; !ok {
			t.Fatalf("%q is on disk but %q, written in the same transaction, is not", k, pair)
		}
	}
}

func verifyAcked(t *testing.T, dir string, acked []string) {
	t.Helper()
	ctx := context.Background()
	s := openStore(t, dir)
	// On Postgres the server's files are not the killed client's to damage; what is
	// checked after this (acknowledged writes, whole transactions) holds on both.
	if testBackend == SQLite {
		if got := pragma(t, s, "integrity_check"); got != "ok" {
			t.Fatalf("integrity_check after kill: %s", got)
		}
		if rows, err := s.p.r.Query("PRAGMA foreign_key_check"); err != nil || rows.Next() {
			t.Fatalf("foreign_key_check after kill: violations or error %v", err)
		} else {
			rows.Close()
		}
	}
	steps, err := s.Steps(ctx, "crash")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, r := range steps {
		have[fmt.Sprintf("step %s %d", r.StepID, r.Item)] = string(r.Output)
	}
	checkBatchesWhole(t, have)
	for _, a := range acked {
		var step string
		var i int
		if _, err := fmt.Sscanf(a, "step %s %d", &step, &i); err == nil {
			if got, want := have[a], string(crashPayload(step, i)); got != want {
				t.Fatalf("acknowledged %q lost or damaged after kill (have %d bytes)", a, len(got))
			}
			continue
		}
		key := strings.TrimPrefix(a, "cache ")
		e, hit, err := s.CacheGet(ctx, key, time.Now())
		if err != nil || !hit {
			t.Fatalf("acknowledged %q lost after kill: hit %v, err %v", a, hit, err)
		}
		step, n, _ := strings.Cut(key, "/")
		var i2 int
		fmt.Sscan(n, &i2)
		if string(e.Value) != string(crashPayload(step, i2)) {
			t.Fatalf("cache %s damaged after kill", key)
		}
	}
	t.Logf("%d acknowledged writes all present; %d step records on disk", len(acked), len(steps))
}
