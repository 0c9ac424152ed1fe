package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/internal/testbin"
)

// e2eRoot holds the binary built for the end-to-end tests; TestMain removes it.
var e2eRoot string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "aiflow-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	e2eRoot = dir
	code := m.Run()
	stopPG()
	os.RemoveAll(dir)
	os.Exit(code)
}

// aiflowBinary builds ./cmd/aiflow once per test binary (on first use, so a -run that
// selects no end-to-end test builds nothing) and returns its path. -short skips.
func aiflowBinary(t *testing.T) string { return testbin.Aiflow(t, e2eRoot) }

// procResult is one finished child process.
type procResult struct {
	stdout, stderr string
	code           int
}

// aiflowCmd runs the built binary with args and extra environment variables.
func aiflowCmd(t *testing.T, env []string, args ...string) procResult {
	t.Helper()
	cmd := exec.Command(aiflowBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("aiflow %s: %v", strings.Join(args, " "), err)
	}
	return procResult{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// runDoc is the part of `aiflow run -o json` the end-to-end tests read.
type runDoc struct {
	FormatVersion string `json:"format_version"`
	Run           struct {
		RunID   string         `json:"run_id"`
		Status  string         `json:"status"`
		Outputs map[string]any `json:"outputs"`
		Usage   usageDoc       `json:"usage"`
		Steps   []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Items  int    `json:"items"`
			Cached int    `json:"cached_items"`
		} `json:"steps"`
	} `json:"run"`
	Diagnostics []any `json:"diagnostics"`
}

// usageDoc is the part of a usage object the end-to-end tests read.
type usageDoc struct {
	InputTokens int     `json:"input_tokens"`
	USD         float64 `json:"usd"`
	Requests    int     `json:"requests"`
}

func decodeRun(t *testing.T, r procResult) runDoc {
	t.Helper()
	var doc runDoc
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\nstdout:\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	return doc
}

func (d runDoc) statuses() map[string]string {
	m := map[string]string{}
	for _, s := range d.Run.Steps {
		m[s.ID] = s.Status
	}
	return m
}

func TestE2EVersion(t *testing.T) {
	r := aiflowCmd(t, nil, "version")
	want := regexp.MustCompile(`^aiflow \S+ \(go1\.\S+, ` + runtime.GOOS + `/` + runtime.GOARCH + `\)\n$`)
	if r.code != 0 || !want.MatchString(r.stdout) || r.stderr != "" {
		t.Errorf("aiflow version: exit %d, stdout %q, stderr %q; want exit 0 and a line matching %s", r.code, r.stdout, r.stderr, want)
	}
}

func TestE2EQuickstart(t *testing.T) {
	state := t.TempDir()
	flow := filepath.Join("..", "..", "examples", "flows", "quickstart.yaml")
	first := aiflowCmd(t, nil, "run", flow, "--state-dir", state, "-o", "json")
	if first.code != 0 {
		t.Fatalf("first run: exit %d\nstderr:\n%s", first.code, first.stderr)
	}
	doc := decodeRun(t, first)
	if doc.FormatVersion != jsonFormatVersion || doc.Run.Status != "succeeded" || doc.Diagnostics == nil {
		t.Errorf("format_version %q, status %q, diagnostics %v; want %q, succeeded, []", doc.FormatVersion, doc.Run.Status, doc.Diagnostics, jsonFormatVersion)
	}
	checkQuickstartOutputs(t, doc.Run.Outputs)
	if !strings.Contains(first.stderr, "✓ answer done") {
		t.Errorf("stderr has no progress line for the answer step:\n%s", first.stderr)
	}

	again := aiflowCmd(t, nil, "run", flow, "--state-dir", state)
	if again.code != 0 {
		t.Fatalf("second run: exit %d\nstderr:\n%s", again.code, again.stderr)
	}
	if !strings.Contains(again.stdout, "chunks_indexed") || !strings.Contains(again.stderr, "✓ vectors cached") {
		t.Errorf("second run: want the outputs table on stdout and the embeddings from the cache;\nstdout:\n%s\nstderr:\n%s", again.stdout, again.stderr)
	}
	if _, err := os.Stat(filepath.Join(state, "state.db")); err != nil {
		t.Errorf("no state database in --state-dir: %v", err)
	}
}

func checkQuickstartOutputs(t *testing.T, outs map[string]any) {
	t.Helper()
	n, _ := outs["chunks_indexed"].(float64)
	answer, _ := outs["answer"].(string)
	var sources []string
	list, _ := outs["sources"].([]any)
	for _, s := range list {
		sources = append(sources, fmt.Sprint(s))
	}
	if n < 100 || len(answer) < 50 || !slices.Contains(sources, "data/honeybees.md") {
		t.Errorf("outputs: chunks_indexed %v, answer %q, sources %v; want > 100 chunks, an answer and honeybees.md among the sources", outs["chunks_indexed"], answer, sources)
	}
}
