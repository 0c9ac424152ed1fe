// Package servertest runs aiflow on a real Temporal server (go.temporal.io/server's
// temporaltest: in-process, SQLite in memory). It is its own Go module so the main
// module's `go test ./...` never compiles the server (about 14 minutes cold on 2 cores).
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/server/temporaltest"

	"github.com/aiflow/aiflow/internal/testbin"
)

// repoRoot is the main module's directory.
const repoRoot = "../../.."

// aiflowBin is the aiflow binary built once for the package's tests from the main
// module, or $AIFLOW_BIN when set.
func aiflowBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AIFLOW_BIN"); p != "" {
		return p
	}
	return testbin.Aiflow(t, "")
}

// server is a Temporal server for one test, with its address, namespace and the task
// queue the test's workers serve.
type server struct {
	addr, ns, queue string
}

// newServer is the Temporal server named by TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE,
// default "default") when set: `make test-temporal` starts cmd/temporal-dev on loopback
// and sets it, so the workers and runs of the end-to-end tests talk to a separate server
// process as they would in production. Each test then gets its own task queue, so no
// test's workers pick up another's leftovers. Without it (a developer's plain `go test`)
// the server runs in-process (temporaltest); under AIFLOW_REQUIRE_TEMPORAL=1 its absence
// is a failure.
func newServer(t *testing.T, opts ...temporaltest.TestServerOption) server {
	t.Helper()
	if addr := os.Getenv("TEMPORAL_ADDRESS"); addr != "" {
		ns := os.Getenv("TEMPORAL_NAMESPACE")
		if ns == "" {
			ns = "default"
		}
		return server{addr: addr, ns: ns, queue: testQueue(t)}
	}
	if os.Getenv("AIFLOW_REQUIRE_TEMPORAL") == "1" {
		t.Fatal("TEMPORAL_ADDRESS is not set though AIFLOW_REQUIRE_TEMPORAL=1: `make test-temporal` starts cmd/temporal-dev and sets it")
	}
	ts := temporaltest.NewServer(append([]temporaltest.TestServerOption{temporaltest.WithT(t)}, opts...)...)
	return server{addr: ts.GetFrontendHostPort(), ns: ts.GetDefaultNamespace()}
}

// testQueue is a task queue of the test's own: its name and the time.
func testQueue(t *testing.T) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, t.Name())
	return fmt.Sprintf("aiflow-%s-%d", name, time.Now().UnixNano())
}

func (s server) flags() []string {
	f := []string{"--temporal-address", s.addr, "--temporal-namespace", s.ns}
	if s.queue != "" {
		f = append(f, "--task-queue", s.queue)
	}
	return f
}

// worker is an `aiflow worker` process.
type worker struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{}
}

// startWorker starts an aiflow worker against s; it is killed at the end of the test.
func startWorker(t *testing.T, s server, env []string, extra ...string) *worker {
	t.Helper()
	return startWorkerIn(t, s, "", env, extra...)
}

// startWorkerIn starts an aiflow worker in working directory dir ("": this one).
func startWorkerIn(t *testing.T, s server, dir string, env []string, extra ...string) *worker {
	t.Helper()
	args := append([]string{"worker"}, s.flags()...)
	cmd := exec.Command(aiflowBin(t), append(args, extra...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = dir
	w := &worker{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{w: w.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-w.done
		if t.Failed() {
			t.Logf("worker %d stderr:\n%s", cmd.Process.Pid, w.stderr)
		}
	})
	return w
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// runJSON is what `aiflow run -o json` prints that both engines must agree on.
type runJSON struct {
	Run struct {
		RunID  string `json:"run_id"`
		Status string `json:"status"`
		Usage  struct {
			USD float64 `json:"usd"`
		} `json:"usage"`
		Outputs map[string]any `json:"outputs"`
		Steps   []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Reason string `json:"reason"`
		} `json:"steps"`
	} `json:"run"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// aiflowRun runs `aiflow run flow -o json args…` and decodes its output.
func aiflowRun(t *testing.T, env []string, flow string, args ...string) (runJSON, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, aiflowBin(t), append([]string{"run", flow, "-o", "json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("aiflow run: %v", err)
	}
	var out runJSON
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("aiflow run %s %s: exit %d, output not JSON: %v\nstdout: %s\nstderr: %s", flow, strings.Join(args, " "), code, err, stdout.String(), stderr.String())
	}
	return out, code
}

// offlineExamples are the example flows that run without an account or network, and
// whether they need `--apply` first (a local index or database).
var offlineExamples = []struct {
	name  string
	apply bool
}{
	{"fanout", false},
	{"quickstart", true},
	{"quickstart-search", true},
	{"classify", false},
	{"summarise-and-translate", false},
	{"pdf-rag-ingest", true},
	{"rag-ingest", true},
	{"rag-query", true},
}

// TestExamplesOnBothEngines runs every offline example flow on the local engine and on
// Temporal (an in-process server and one `aiflow worker` process): the outputs, step
// statuses and exit codes are identical.
func TestExamplesOnBothEngines(t *testing.T) {
	s := newServer(t)
	startWorker(t, s, nil)
	for _, ex := range offlineExamples {
		t.Run(ex.name, func(t *testing.T) {
			if ex.name == "summarise-and-translate" {
				requireApertium(t)
			}
			flow, err := filepath.Abs(filepath.Join(repoRoot, "examples", "flows", ex.name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var extra []string
			if ex.apply {
				extra = append(extra, "--apply")
			}
			local, lcode := aiflowRun(t, nil, flow, append([]string{"--state-dir", t.TempDir()}, extra...)...)
			rdir := t.TempDir()
			remote, rcode := aiflowRun(t, nil, flow, append(append([]string{"--state-dir", rdir, "--engine", "temporal"}, s.flags()...), extra...)...)
			checkRecordedOnTemporal(t, rdir, remote.Run.RunID)
			if lcode != rcode {
				t.Errorf("exit code local %d, temporal %d (error %+v)", lcode, rcode, remote.Error)
			}
			lo, _ := json.Marshal(local.Run.Outputs)
			ro, _ := json.Marshal(remote.Run.Outputs)
			if !bytes.Equal(lo, ro) {
				t.Errorf("outputs differ\nlocal:    %s\ntemporal: %s", lo, ro)
			}
			ls, _ := json.Marshal(local.Run.Steps)
			rs, _ := json.Marshal(remote.Run.Steps)
			if !bytes.Equal(ls, rs) {
				t.Errorf("steps differ\nlocal:    %s\ntemporal: %s", ls, rs)
			}
			if local.Run.Status != "succeeded" {
				t.Errorf("local run %s: %+v", local.Run.Status, local.Error)
			}
		})
	}
}

// checkRecordedOnTemporal checks that `aiflow runs` lists run id as run by the temporal
// engine, with its workflow id.
func checkRecordedOnTemporal(t *testing.T, stateDir, id string) {
	t.Helper()
	out, err := exec.Command(aiflowBin(t), "runs", "--state-dir", stateDir, "-o", "json").Output()
	if err != nil {
		t.Fatalf("aiflow runs: %v", err)
	}
	var doc struct {
		Runs []struct {
			ID         string `json:"id"`
			Engine     string `json:"engine"`
			WorkflowID string `json:"temporal_workflow_id"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 || doc.Runs[0].ID != id || doc.Runs[0].Engine != "temporal" || doc.Runs[0].WorkflowID != "aiflow-"+id {
		t.Errorf("aiflow runs = %s, want run %s on engine temporal, workflow aiflow-%s", out, id, id)
	}
}

func requireApertium(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("apertium"); err != nil {
		if os.Getenv("AIFLOW_REQUIRE_APERTIUM") == "1" || os.Getenv("CI") == "true" {
			t.Fatalf("apertium is missing though `make test` installs it (.ci/deps): %v", err)
		}
		t.Skip("needs the apertium command (apt-get install apertium apertium-eng-spa, or make test)")
	}
}

// stepLines are the progress lines of finished steps ("✓ chunks done", "- x skipped"),
// first three words, sorted: what both engines print whatever the timing.
func stepLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "✓ ") && !strings.HasPrefix(l, "✗ ") && !strings.HasPrefix(l, "- ") {
			continue
		}
		f := strings.Fields(l)
		if len(f) > 3 {
			f = f[:3]
		}
		out = append(out, strings.Join(f, " "))
	}
	sort.Strings(out)
	return out
}

// TestProgressOnTemporal: `aiflow run --engine temporal` reports each step as it is
// recorded, with the same lines as a local run.
func TestProgressOnTemporal(t *testing.T) {
	s := newServer(t)
	startWorker(t, s, nil)
	flow, err := filepath.Abs(filepath.Join(repoRoot, "examples", "flows", "fanout.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	human := func(args ...string) string {
		cmd := exec.Command(aiflowBin(t), append([]string{"run", flow, "--state-dir", t.TempDir()}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("aiflow run %v: %v\n%s", args, err, stderr.String())
		}
		return stderr.String()
	}
	local := stepLines(human())
	remote := stepLines(human(append([]string{"--engine", "temporal"}, s.flags()...)...))
	if len(local) == 0 || strings.Join(local, "\n") != strings.Join(remote, "\n") {
		t.Errorf("step lines differ\nlocal:\n%s\ntemporal:\n%s", strings.Join(local, "\n"), strings.Join(remote, "\n"))
	}
}
