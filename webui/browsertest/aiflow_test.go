package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aiflow/aiflow/internal/testbin"
)

// aiflowBinary builds ./cmd/aiflow (once) and returns its path. -short skips.
func aiflowBinary(t testing.TB) string { return testbin.Aiflow(t, tmpRoot) }

// runDoc is the part of `aiflow run -o json` the tests read.
type runDoc struct {
	Run struct {
		RunID   string         `json:"run_id"`
		Status  string         `json:"status"`
		Outputs map[string]any `json:"outputs"`
		Steps   []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Items  int    `json:"items"`
		} `json:"steps"`
	} `json:"run"`
}

// runFlow runs `aiflow run -o json --state-dir state [args] flow` with env added to
// this process's environment, and returns what it printed. A run that does not
// succeed fails the test.
func runFlow(t testing.TB, flow, state string, env []string, args ...string) runDoc {
	t.Helper()
	return startFlow(t, "succeeded", flow, state, env, args...)()
}

// startFlow starts what runFlow runs and returns at once; wait waits for the run to end
// and fails the test unless it ended with status want.
func startFlow(t testing.TB, want, flow, state string, env []string, args ...string) (wait func() runDoc) {
	t.Helper()
	full := append([]string{"run", "-o", "json", "--state-dir", state}, args...)
	full = append(full, flow)
	cmd := exec.Command(aiflowBinary(t), full...)
	cmd.Dir = filepath.Dir(flow)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("aiflow %s: %v", strings.Join(full, " "), err)
	}
	done := false
	t.Cleanup(func() {
		if !done { // the test ended first: do not leave the run behind
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return func() runDoc {
		t.Helper()
		err := cmd.Wait()
		done = true
		if want != "succeeded" && cmd.ProcessState.ExitCode() > 0 {
			err = nil // a failed run exits non-zero
		}
		var doc runDoc
		if jerr := json.Unmarshal(stdout.Bytes(), &doc); err != nil || jerr != nil || doc.Run.Status != want {
			t.Fatalf("aiflow %s: %v (status %q)\nstdout:\n%s\nstderr:\n%s", strings.Join(full, " "), err, doc.Run.Status, stdout.String(), stderr.String())
		}
		return doc
	}
}

// copyFlow copies the example flow examples/flows/name and the data it reads into a
// new temporary directory, and returns the copy's path.
func copyFlow(t testing.TB, name string, dirs ...string) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples", "flows")
	dst := t.TempDir()
	copyFile(t, filepath.Join(src, name), filepath.Join(dst, name))
	for _, d := range dirs {
		entries, err := os.ReadDir(filepath.Join(src, d))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, d), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				copyFile(t, filepath.Join(src, d, e.Name()), filepath.Join(dst, d, e.Name()))
			}
		}
	}
	return filepath.Join(dst, name)
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeFlow writes a flow's YAML into a new temporary directory.
func writeFlow(t testing.TB, name, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// syncBuffer is an io.Writer the child process and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr is a loopback address with a port nothing listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startUI starts `aiflow ui --state-dir state --addr 127.0.0.1:PORT` and waits until
// its API answers; it returns the viewer's base URL. The process ends with the test.
func startUI(t testing.TB, state string) string {
	t.Helper()
	needBrowser(t) // no point serving a page nobody can open
	bin := aiflowBinary(t)
	addr := freeAddr(t)
	cmd := exec.Command(bin, "ui", "--state-dir", state, "--addr", addr)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting aiflow ui: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	shown := false // the output is in a failure message already
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("aiflow ui did not stop within 10s of an interrupt")
		}
		if t.Failed() && !shown {
			t.Logf("aiflow ui output:\n%s", out.String())
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(waitTimeout)
	for {
		select {
		case err := <-exited:
			exited <- err
			shown = true
			t.Fatalf("aiflow ui exited (%v) before it served; output:\n%s", err, out.String())
		default:
		}
		if err := getOK(base + "/api/runs"); err == nil {
			return base
		} else if time.Now().After(deadline) {
			shown = true
			t.Fatalf("aiflow ui on %s did not answer within %s: %v; output:\n%s", addr, waitTimeout, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getOK(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

// getJSON decodes the JSON the viewer's API answers at path into v.
func getJSON(t testing.TB, base, path string, v any) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, b)
	}
}
