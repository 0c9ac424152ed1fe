package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/expr-lang/expr"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/exprguard"
	"github.com/aiflow/aiflow/spec"
)

func init() {
	register(command{name: "test", summary: "Run the test cases kept beside a flow (flow.test.yaml)", run: testCmd})
}

// Error kinds of `aiflow test -o json`, besides the common ones.
const (
	errInvalidTests = "invalid_test_file"
	errTestFailed   = "test_failed"
)

type testArgs struct {
	output    string
	stateDir  string
	run       string
	noCache   bool
	verbose   bool
	allowRead varFlags
}

// testResult is one test's outcome, as -o json prints it.
type testResult struct {
	Name     string        `json:"name"`
	Pos      spec.Pos      `json:"pos"`
	Passed   bool          `json:"passed"`
	RunID    string        `json:"run_id,omitempty"`
	Status   string        `json:"status,omitempty"` // the run's status
	Error    string        `json:"error,omitempty"`  // why the test failed outside its assertions
	Failures []testFailure `json:"failures"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// testFailure is one assertion that did not hold, with the values it was computed from.
type testFailure struct {
	Assertion string       `json:"assertion"`
	Pos       spec.Pos     `json:"pos"`
	Message   string       `json:"message"`
	Values    []probeValue `json:"values,omitempty"`
}

type probeValue struct {
	Expr  string `json:"expr"`
	Value any    `json:"value"`
}

func testCmd(args []string, stdout, stderr io.Writer) int {
	var a testArgs
	fs := newFlags("test", stderr)
	fs.StringVar(&a.output, "o", "human", "output format: human or json")
	fs.StringVar(&a.stateDir, "state-dir", "", "state directory (default .aiflow beside the flow)")
	fs.StringVar(&a.run, "run", "", "only tests whose name matches this regular expression")
	fs.BoolVar(&a.noCache, "no-cache", false, "ignore the step cache")
	fs.BoolVar(&a.verbose, "v", false, "log every step of every test run to stderr")
	fs.Var(&a.allowRead, "allow-read", allowReadUsage)
	pos, v, err := parseCommand(fs, &a.output, args, stdout, stderr)
	if err != nil {
		return v.failArgs(err)
	}
	path, err := flowArg(pos)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runTests(ctx, a, path, v)
}

func runTests(ctx context.Context, a testArgs, path string, v view) int {
	flowPath, testPath := testFileFor(path)
	filter, err := regexp.Compile(a.run)
	if err != nil {
		return v.fail(errUsage, fmt.Errorf("--run: %w", err), nil)
	}
	tf, diags := parseTestFile(testPath)
	if diags.HasErrors() {
		return v.fail(errInvalidTests, fmt.Errorf("invalid test file %s", testPath), diags)
	}
	fl, fdiags := loadFlow(flowPath, a.allowRead)
	if fl == nil {
		return v.fail(errInvalidFlow, fmt.Errorf("invalid flow %s", flowPath), fdiags)
	}
	if d := bindMocks(fl, tf.tests); d.HasErrors() {
		return v.fail(errInvalidTests, fmt.Errorf("invalid test file %s", testPath), d)
	}
	// Always the local state, never a shared database: mocked outputs must not reach
	// a cache other machines read.
	st, err := openStore(stateDir(a.stateDir, flowPath), "")
	if err != nil {
		return v.fail(errState, err, nil)
	}
	defer st.Close()
	abs, _ := filepath.Abs(flowPath)
	fl.Spec.File = abs
	var results []testResult
	for _, tc := range tf.tests {
		if !filter.MatchString(tc.name) {
			continue
		}
		r := runTest(ctx, a, v, fl, st, tc)
		if !v.json {
			printTest(v.stdout, r)
		}
		results = append(results, r)
	}
	return reportTests(v, testPath, results)
}

func runTest(ctx context.Context, a testArgs, v view, fl *engine.Flow, st *store.Store, tc *testCase) testResult {
	r := testResult{Name: tc.name, Pos: tc.pos, Failures: []testFailure{}}
	var hooks []engine.Hook
	if a.verbose && !v.json {
		hooks = append(hooks, newProgress(plainScreen(v.stderr), io.Discard, false, time.Now))
	}
	start := time.Now()
	opts := engine.RunOptions{Vars: copyVars(tc.vars), Store: st, StateDir: st.Dir(), Hooks: hooks, NoCache: a.noCache}
	var mocks *mockSet
	if len(tc.mocks) > 0 {
		// A mocked answer must never reach the step cache (a real run would be served it),
		// and a cached answer would bypass the mock: runs with mocks skip the cache.
		mocks = &mockSet{mocks: tc.mocks}
		opts.NoCache, opts.Executor, opts.WrapProvider = true, mockExecutor{inner: engine.InProcess{}, set: mocks}, mocks.wrap
		for _, m := range tc.mocks {
			m.used.Store(0)
		}
	}
	res, err := fl.Run(ctx, opts)
	r.Elapsed = time.Since(start)
	msg := ""
	if err != nil {
		msg = fl.Redact(err.Error())
	}
	if res != nil {
		r.RunID, r.Status = res.RunID, res.Status
	}
	switch {
	case tc.expectError != "" && err == nil:
		r.Error = fmt.Sprintf("expected the run to fail with an error containing %q; it succeeded", tc.expectError)
		return r
	case tc.expectError != "" && !strings.Contains(msg, tc.expectError):
		r.Error = fmt.Sprintf("expected an error containing %q, got: %s", tc.expectError, msg)
		return r
	case tc.expectError == "" && err != nil:
		r.Error = "run failed: " + msg
		return r
	}
	scope := assertionScope(res, tc.vars, msg)
	for _, as := range tc.asserts {
		if f, failed := check(as, scope); failed {
			r.Failures = append(r.Failures, f)
		}
	}
	if mocks != nil {
		for _, m := range mocks.unused() {
			r.Failures = append(r.Failures, testFailure{Assertion: "mocks: " + m.describe(), Pos: m.pos, Message: "mock not used: no call matched it"})
		}
	}
	r.Passed = len(r.Failures) == 0
	return r
}

func copyVars(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// assertionScope is what assertions see: outputs, steps.<id>.{status, model, items,
// cached_items, attempts, error, reason}, run.{id, status, error} and the test's vars.
func assertionScope(res *engine.RunResult, vars map[string]any, errMsg string) map[string]any {
	steps := map[string]any{}
	run := map[string]any{"error": errMsg}
	outputs := map[string]any{}
	if res != nil {
		for _, s := range res.Steps {
			steps[s.ID] = map[string]any{"status": s.Status, "model": s.Model, "items": s.Items, "cached_items": s.Cached,
				"attempts": s.Attempts, "error": s.Error, "reason": s.Reason}
		}
		run["id"], run["status"] = res.RunID, res.Status
		if res.Outputs != nil {
			outputs = res.Outputs
		}
	}
	return map[string]any{"outputs": outputs, "steps": steps, "run": run, "vars": vars}
}

// check evaluates one assertion; it reports a failure when it is false or errs.
func check(a *assertion, scope map[string]any) (testFailure, bool) {
	f := testFailure{Assertion: a.src, Pos: a.pos}
	out, err := expr.Run(a.prog, scope)
	switch {
	case err != nil:
		f.Message = "assertion error: " + exprguard.Message(err, a.src)
	case out == true:
		return f, false
	default:
		f.Message = "assertion failed"
	}
	for _, p := range a.probes {
		val, err := expr.Run(p.prog, scope)
		if err != nil {
			continue // the assertion's own error says more
		}
		f.Values = append(f.Values, probeValue{Expr: p.src, Value: val})
	}
	return f, true
}

// plainJSON renders v as compact JSON without HTML escapes.
func plainJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func printTest(w io.Writer, r testResult) {
	word := "PASS"
	if !r.Passed {
		word = "FAIL"
	}
	fmt.Fprintf(w, "--- %s: %s (%s)\n", word, r.Name, r.Elapsed.Round(time.Millisecond))
	if r.Error != "" {
		fmt.Fprintf(w, "    %s: %s\n", r.Pos, strings.ReplaceAll(r.Error, "\n", "\n      "))
	}
	for _, f := range r.Failures {
		fmt.Fprintf(w, "    %s: %s: %s\n", f.Pos, f.Message, f.Assertion)
		for _, pv := range f.Values {
			fmt.Fprintf(w, "        %s = %s\n", pv.Expr, abbreviate(plainJSON(pv.Value), 300))
		}
	}
}

func reportTests(v view, testPath string, results []testResult) int {
	failed := 0
	for _, r := range results {
		if !r.Passed {
			failed++
		}
	}
	if v.json {
		out := map[string]any{"format_version": jsonFormatVersion, "file": testPath, "tests": nonNil(results),
			"passed": len(results) - failed, "failed": failed, "diagnostics": diagList(nil)}
		if failed > 0 {
			out["error"] = map[string]any{"kind": errTestFailed, "message": fmt.Sprintf("%d of %d tests failed", failed, len(results))}
		}
		v.writeJSON(out)
	} else {
		switch {
		case len(results) == 0:
			fmt.Fprintf(v.stdout, "no tests to run in %s\n", testPath)
		case failed > 0:
			fmt.Fprintf(v.stdout, "FAIL %s: %d of %d tests failed\n", testPath, failed, len(results))
		default:
			fmt.Fprintf(v.stdout, "ok   %s: %d test%s passed\n", testPath, len(results), plural(len(results)))
		}
	}
	if failed > 0 {
		return exitError
	}
	return exitOK
}

func nonNil(rs []testResult) []testResult {
	if rs == nil {
		return []testResult{}
	}
	return rs
}
