package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/infra"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/telemetry"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
)

func init() {
	register(command{name: "run", summary: "Run a flow and print its outputs", run: runCmd})
}

type runArgs struct {
	flow        string
	vars        varFlags
	varsFile    string
	output      string
	stateDir    string
	stateURL    string // --state-url
	parallelism int
	failFast    bool
	resume      string
	seed        int64
	noCache     bool
	debug       bool
	apply       bool
	budget      float64
	lockTimeout time.Duration
	allowRead   varFlags
	data        datasetArgs
	variant     varFlags // --variant STEP=NAME
	outputDir   string
	otlp        string // --otlp-endpoint
	otelContent bool   // --otel-content
	temporal    temporalArgs
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	var a runArgs
	fs := newFlags("run", stderr)
	fs.Var(&a.vars, "var", "set a var: name=value or name=@file (repeatable)")
	fs.StringVar(&a.varsFile, "vars-file", "", "YAML or JSON file of var values")
	fs.StringVar(&a.output, "o", "human", "output format: human (table) or json")
	fs.StringVar(&a.stateDir, "state-dir", "", "state directory (default .aiflow beside the flow)")
	fs.StringVar(&a.stateURL, "state-url", "", stateURLUsage)
	fs.IntVar(&a.parallelism, "parallelism", runtime.NumCPU()*4, "steps and items executing at once")
	fs.BoolVar(&a.failFast, "fail-fast", false, "cancel everything at the first failure")
	fs.StringVar(&a.resume, "resume", "", "continue a failed or killed run: a run id, or last")
	fs.Int64Var(&a.seed, "seed", 0, "seed for split routes")
	fs.BoolVar(&a.noCache, "no-cache", false, "ignore the step cache")
	fs.BoolVar(&a.apply, "apply", false, "create or update the flow's resources first (like aiflow apply -auto-approve)")
	fs.BoolVar(&a.debug, "debug", false, "trace every provider HTTP attempt to stderr (secrets redacted)")
	fs.Float64Var(&a.budget, "budget", 0, "budget in USD (overrides the flow's budget:; with --inputs, one budget for all the rows together)")
	fs.DurationVar(&a.lockTimeout, "lock-timeout", 0, "wait this long for another run of the same flow to finish (default: fail at once)")
	fs.Var(&a.allowRead, "allow-read", allowReadUsage)
	datasetFlags(fs, &a.data)
	fs.Var(&a.variant, "variant", "run STEP as its variant NAME: STEP=NAME (repeatable)")
	fs.StringVar(&a.outputDir, "output-dir", "", "write outputs that are blobs (images, audio, documents) into DIR as files named after the output")
	tracingFlags(fs, &a)
	temporalFlags(fs, &a.temporal, true)
	pos, v, err := parseCommand(fs, &a.output, args, stdout, stderr)
	if err != nil {
		return v.failArgs(err)
	}
	if a.flow, err = flowArg(pos); err != nil {
		return v.fail(errUsage, err, nil)
	}
	if err := checkEngine(a); err != nil {
		return v.fail(errUsage, err, nil)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if a.data.inputs != "" {
		return executeDataset(ctx, a, v)
	}
	if len(a.data.maps) > 0 || a.data.results != "" {
		return v.fail(errUsage, errors.New("--map and --results go with --inputs"), nil)
	}
	return execute(ctx, a, v)
}

func execute(ctx context.Context, a runArgs, v view) int {
	fs, code := openFlowState(v, a.flow, a.vars, a.varsFile, a.stateDir, a.stateURL, a.allowRead)
	if fs == nil {
		return code
	}
	defer fs.st.Close()
	if code := selectVariants(fs, a, v); code != exitOK {
		return code
	}
	fl, vars, st, dir, diags := fs.fl, fs.vars, fs.st, fs.dir, fs.diags
	abs := absPath(a.flow)
	fl.Spec.File = abs
	if a.resume == "last" {
		last, err := st.LastRun(ctx, abs)
		if err != nil {
			return v.fail(errState, fmt.Errorf("--resume last: %w", err), nil)
		}
		a.resume = last.ID
	}
	// One run of a flow at a time per state directory: a second would pay for every call
	// again. The kernel drops the lock if this process dies. On a shared Postgres state
	// the lock is the run's own, across machines (store.Store.LockRun).
	runID := a.resume
	if runID == "" {
		runID = store.NewRunID()
	}
	unlock, err := st.LockRun(abs, runID, a.lockTimeout)
	if err != nil {
		if errors.Is(err, store.ErrLocked) && a.lockTimeout == 0 {
			err = fmt.Errorf("%w (pass --lock-timeout to wait for it)", err)
		}
		return v.fail(errState, err, nil)
	}
	defer unlock()
	tracing, ctx, err := setupTracing(ctx, a, v)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	// Flushed on every way out, a failed or interrupted run too, within a bounded time.
	defer tracing.Shutdown()
	iopts := infra.Options{StateDir: dir, Vars: vars}
	if a.apply {
		if _, err := infra.Apply(ctx, fl, st, iopts, nil); err != nil {
			return v.fail(errState, fmt.Errorf("--apply: %w", err), nil)
		}
	}
	if err := infra.Check(ctx, fl, st, iopts); err != nil {
		return v.fail(errState, err, nil)
	}
	prog := newProgress(newScreen(v.stderr), v.stdout, newScreen(v.stdout).tty && !v.json, time.Now)
	prog.start()
	openDB := func(ctx context.Context, name string) (providers.Database, error) {
		return infra.OpenDatabase(ctx, fl, st, iopts, name)
	}
	prompts := func(ctx context.Context) (map[string]map[string]any, error) { return infra.Prompts(ctx, fl, st, iopts) }
	var res *engine.RunResult
	if a.temporal.engine == "temporal" {
		res, err = runOnTemporal(ctx, a, fl, vars, st, dir, runID, abs, prog)
	} else {
		res, err = fl.Run(ctx, engine.RunOptions{Vars: vars, Store: st, StateDir: dir, Hooks: []engine.Hook{prog}, Parallelism: a.parallelism,
			FailFast: a.failFast, Resume: a.resume, RunID: runID, Seed: a.seed, NoCache: a.noCache, BudgetUSD: a.budget, Debug: debugWriter(a.debug, prog.logWriter()),
			OpenDatabase: openDB, Prompts: prompts, Labels: variantLabels(processLabels(), a.variant), Tracer: tracing.Engine()})
	}
	prog.finish()
	if res == nil {
		var de *spec.DiagnosticsError
		if errors.As(err, &de) {
			return v.fail(errInput, err, de.Diags)
		}
		return v.fail(errRunFailed, err, nil)
	}
	if a.outputDir != "" && res.Outputs != nil {
		names := make([]string, 0, len(fl.Outputs))
		for _, o := range fl.Outputs {
			names = append(names, o.Name)
		}
		files, werr := writeBlobOutputs(a.outputDir, res.Outputs, names, dir)
		for _, f := range files {
			fmt.Fprintf(v.stderr, "wrote %s\n", displayDir(f))
		}
		if werr != nil && err == nil {
			err = werr
		}
	}
	if v.json {
		out := map[string]any{"format_version": jsonFormatVersion, "run": runJSONDoc{Flow: abs, Name: fl.Spec.Name, RunResult: res}, "diagnostics": diagList(diags)}
		if err != nil {
			out["error"] = map[string]any{"kind": errRunFailed, "message": fl.Redact(err.Error())}
		}
		v.writeJSON(out)
	} else {
		if err == nil || anyOutput(res.Outputs) {
			printOutputs(v.stdout, res.Outputs, fl, dir)
		}
		printSummary(v.stderr, res)
		if err != nil {
			fmt.Fprintf(v.stderr, "Error: %s\n", fl.Redact(err.Error()))
		}
	}
	if err != nil {
		return exitError
	}
	return exitOK
}

// runJSONDoc is the "run" object of run -o json: the result with the flow's file path and
// name under the keys plan, apply and runs show use for them.
type runJSONDoc struct {
	Flow string `json:"flow"`
	Name string `json:"name"`
	*engine.RunResult
}

// setupTracing starts the OTLP exporter the run flags ask for (--otlp-endpoint, --otel-content)
// and, when tracing is on, makes ctx a child of $TRACEPARENT so the run nests in a CI
// pipeline's trace. A single run and a dataset run are traced from the same settings
// through it; the caller defers Shutdown.
func setupTracing(ctx context.Context, a runArgs, v view) (*telemetry.Tracing, context.Context, error) {
	tracing, err := telemetry.Setup(ctx, telemetry.Config{Endpoint: a.otlp, Content: a.otelContent, Warn: v.stderr, Version: version})
	if err != nil {
		return nil, ctx, fmt.Errorf("tracing: %w", err)
	}
	if tracing != nil {
		ctx = telemetry.Parent(ctx)
	}
	return tracing, ctx, nil
}

func debugWriter(on bool, w io.Writer) io.Writer {
	if !on {
		return nil
	}
	return w
}

// runWarnings drops "environment variable is not set" warnings: at run time a provider
// that needs the variable fails with an error, and one that is never used does not matter.
func runWarnings(diags spec.Diagnostics) spec.Diagnostics {
	var out spec.Diagnostics
	for _, d := range diags {
		if d.Severity == spec.Warning && strings.HasPrefix(d.Summary, "environment variable ") {
			continue
		}
		out = append(out, d)
	}
	return out
}

// anyOutput reports whether a failed run still produced some output worth printing.
func anyOutput(outs map[string]any) bool {
	for _, v := range outs {
		if v != nil {
			return true
		}
	}
	return false
}

// printOutputs writes the flow's outputs in the order it declares them.
func printOutputs(w io.Writer, outs map[string]any, fl *engine.Flow, stateDir string) {
	names := make([]string, 0, len(outs))
	for _, o := range fl.Outputs {
		names = append(names, o.Name)
	}
	printValues(w, outs, names, "", stateDir)
}

// printValues writes the named values as a two-column table, each line after prefix;
// multi-line values go below their name. run and runs show print outputs this one way;
// blobs read as media type, size and the path of their bytes under stateDir.
func printValues(w io.Writer, outs map[string]any, names []string, prefix, stateDir string) {
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		s := render(showBlobs(outs[n], stateDir))
		if strings.Contains(s, "\n") || len(s) > 100 {
			fmt.Fprintf(w, "%s%s:\n%s\n", prefix, n, indent(s, prefix+"  "))
			continue
		}
		fmt.Fprintf(w, "%s%-*s  %s\n", prefix, width, n, s)
	}
}

// render is how a value reads in human output: a string as its text, a scalar as in YAML,
// a list or map as indented YAML lines (never JSON).
func render(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(plainNumbers(v)); err != nil {
		return jsonString(v)
	}
	enc.Close()
	return strings.TrimSuffix(b.String(), "\n")
}

// plainNumbers turns whole float64s (every JSON number decodes to one) into int64s, so a
// count reads 1000000 rather than 1e+06.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainNumbers(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plainNumbers(e)
		}
		return out
	}
	return v
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}

func printSummary(w io.Writer, res *engine.RunResult) {
	counts := map[string]int{}
	for _, s := range res.Steps {
		counts[s.Status]++
	}
	var parts []string
	for _, k := range []string{engine.StatusSucceeded, engine.StatusCached, engine.StatusSkipped, engine.StatusFailed, engine.StatusCancelled} {
		if counts[k] > 0 {
			label := k
			if k == engine.StatusSucceeded {
				label = "run"
			}
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], label))
		}
	}
	u := res.Usage
	cost := fmt.Sprintf("$%.6f", u.USD)
	if res.BudgetUSD > 0 {
		cost += fmt.Sprintf(" of a $%.4f budget", res.BudgetUSD)
	}
	fmt.Fprintf(w, "\nRun %s %s in %s. Steps: %s. Tokens: %d in, %d out. Cost: %s.\n", res.RunID, res.Status, res.Elapsed.Round(time.Millisecond),
		strings.Join(parts, ", "), u.InputTokens, u.OutputTokens, cost)
	if res.TraceID != "" {
		fmt.Fprintf(w, "Trace %s\n", res.TraceID)
	}
	for _, route := range sortedKeys(res.Arms) {
		arms := res.Arms[route]
		for _, model := range sortedKeys(arms) {
			a := arms[model]
			avg := time.Duration(0)
			if a.Calls > 0 {
				avg = a.Elapsed / time.Duration(a.Calls)
			}
			fmt.Fprintf(w, "Split %s → %s: %d calls (%d cached, %d failed), avg %s, $%.6f\n", route, model, a.Calls, a.Cached, a.Failed, avg.Round(time.Millisecond), a.USD)
		}
	}
}

// tracingFlags declares the OpenTelemetry flags of the commands that run flows.
func tracingFlags(fs *flag.FlagSet, a *runArgs) {
	fs.StringVar(&a.otlp, "otlp-endpoint", "", "export OpenTelemetry traces to this OTLP endpoint, e.g. http://localhost:4318 (default: OTEL_EXPORTER_OTLP_ENDPOINT; off when unset)")
	fs.BoolVar(&a.otelContent, "otel-content", false, "put prompts, completions, inputs and outputs (secrets redacted) on the exported spans")
}
