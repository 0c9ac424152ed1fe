package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/infra"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/engine/temporal"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
)

func init() {
	register(command{name: "worker", summary: "Serve Temporal runs: the aiflow workflow and its step activities", run: workerCmd})
}

// temporalArgs are the flags naming a Temporal frontend, shared by run and worker.
type temporalArgs struct {
	engine    string
	address   string
	namespace string
	taskQueue string
	tls       bool
	apiKey    string
}

func temporalFlags(fs *flag.FlagSet, a *temporalArgs, withEngine bool) {
	if withEngine {
		fs.StringVar(&a.engine, "engine", "local", "where steps execute: local (this process) or temporal (workers of a Temporal server)")
	}
	fs.StringVar(&a.address, "temporal-address", "", "Temporal frontend host:port (default $TEMPORAL_ADDRESS, else localhost:7233)")
	fs.StringVar(&a.namespace, "temporal-namespace", "", "Temporal namespace (default $TEMPORAL_NAMESPACE, else default)")
	fs.StringVar(&a.taskQueue, "task-queue", temporal.DefaultTaskQueue, "base task queue; provider steps use <queue>-<provider kind>")
	fs.BoolVar(&a.tls, "temporal-tls", false, "connect to Temporal over TLS (implied by an API key)")
	fs.StringVar(&a.apiKey, "temporal-api-key", "", "Temporal Cloud API key (default $TEMPORAL_API_KEY)")
}

func (a temporalArgs) conn() temporal.Conn {
	return temporal.Conn{Address: a.address, Namespace: a.namespace, TaskQueue: a.taskQueue, TLS: a.tls, APIKey: a.apiKey}
}

// checkEngine refuses an unknown --engine, and what a Temporal run cannot combine with.
func checkEngine(a runArgs) error {
	switch a.temporal.engine {
	case "", "local":
		return nil
	case "temporal":
	default:
		return fmt.Errorf("--engine %q: expected local or temporal", a.temporal.engine)
	}
	switch {
	case a.resume != "":
		return errors.New("--resume does not apply to --engine temporal: Temporal retries a lost worker's activities itself")
	case a.data.inputs != "":
		return errors.New("--inputs does not run on --engine temporal yet; run datasets with the local engine")
	case a.failFast:
		return errors.New("--fail-fast does not apply to --engine temporal")
	case len(a.variant) > 0:
		return errors.New("--variant does not run on --engine temporal yet: workers compile the flow as written")
	}
	return nil
}

// runOnTemporal submits the run as a workflow and follows it to its end. The run is
// recorded by the workers in the same state (SQLite in WAL mode, shared by processes on
// this machine, or a Postgres database the workers point at with their own --state-url);
// its labels carry the workflow id.
func runOnTemporal(ctx context.Context, a runArgs, fl *engine.Flow, vars map[string]any, st *store.Store, dir, runID, abs string, hook engine.Hook) (*engine.RunResult, error) {
	// A Postgres state is shared with workers on other machines, which cannot reach
	// resources kept on this one.
	if err := temporal.Refuse(fl, vars, st.Dialect() == store.Postgres); err != nil {
		return nil, err
	}
	c := a.temporal.conn()
	cl, err := temporal.Dial(ctx, c)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	src := fl.Spec.Source
	// Everything the run reads from disk travels with it, so workers need neither this
	// machine's files nor a shared disk.
	files, roots, err := temporal.CollectFiles(ctx, func(observe func(string), lookupEnv func(string) (string, bool)) (*engine.Flow, error) {
		return compileObserved(abs, src, a.allowRead, observe, lookupEnv)
	}, vars, a.budget)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	labels := map[string]string{"host": host, "temporal_workflow_id": temporal.WorkflowID(runID)}
	run, err := temporal.Start(ctx, cl, c, temporal.Submission{Flow: fl, RunID: runID, StateDir: dir, Parallelism: a.parallelism,
		Bundle: temporal.Bundle{FlowFile: abs, Source: src, Vars: vars, Seed: a.seed, NoCache: a.noCache, BudgetUSD: a.budget, Labels: labels,
			AllowRead: a.allowRead, Files: files, Roots: roots}})
	if err != nil {
		return nil, err
	}
	stop := followRecords(ctx, st, runID, hook)
	out, err := temporal.Wait(ctx, run)
	stop()
	if err != nil {
		return nil, err
	}
	if out.Error != "" {
		return out.Result, errors.New(out.Error)
	}
	return out.Result, nil
}

// followRecords reports the run's steps to hook as the workers record them (the run
// store is shared), as the local engine's events would, until stop is called; stop reads
// the records one last time. It reads the whole-step records only, without outputs: it
// read every item's record and output four times a second.
func followRecords(ctx context.Context, st *store.Store, runID string, hook engine.Hook) (stop func()) {
	seen := map[string]bool{}
	poll := func() {
		recs, err := st.WholeSteps(context.WithoutCancel(ctx), runID)
		if err != nil {
			return // not recorded yet
		}
		for _, r := range recs {
			if seen[r.StepID] || r.Status == engine.StatusRunning {
				continue
			}
			seen[r.StepID] = true
			e := engine.Event{RunID: runID, StepID: r.StepID, Item: -1, Model: r.Model, Reason: r.Reason, Usage: providers.Usage(r.Usage),
				Elapsed: r.FinishedAt.Sub(r.StartedAt)}
			switch r.Status {
			case engine.StatusSucceeded:
				e.Type = engine.EventStepDone
			case engine.StatusCached:
				e.Type = engine.EventStepCached
			case engine.StatusSkipped:
				e.Type = engine.EventStepSkip
			case engine.StatusFailed:
				e.Type, e.Err = engine.EventStepFail, errors.New(r.Error)
			default:
				continue
			}
			hook.OnEvent(e)
		}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				poll()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		poll()
	}
}

type workerArgs struct {
	temporal   temporalArgs
	stateDir   string
	stateURL   string
	rates      varFlags
	activities int
	allowRead  varFlags
	debug      bool
}

func workerCmd(args []string, stdout, stderr io.Writer) int {
	var a workerArgs
	var output string
	fs := newFlags("worker", stderr)
	temporalFlags(fs, &a.temporal, false)
	fs.StringVar(&output, "o", "human", "output format: human or json (errors only)")
	fs.StringVar(&a.stateDir, "state-dir", "", "state directory for every run (default: the one each run was submitted with)")
	fs.StringVar(&a.stateURL, "state-url", "", stateURLUsage)
	fs.Var(&a.rates, "rate", "requests per second to provider kind KIND, for all workers sharing the run's state: KIND=N (repeatable)")
	fs.IntVar(&a.activities, "max-activities", 0, "activities this worker executes at once (default: the SDK's)")
	fs.Var(&a.allowRead, "allow-read", allowReadUsage)
	fs.BoolVar(&a.debug, "debug", false, "log the Temporal SDK's messages to stderr")
	pos, v, err := parseCommand(fs, &output, args, stdout, stderr)
	if err != nil {
		return v.failArgs(err)
	}
	if len(pos) > 0 {
		return v.fail(errUsage, fmt.Errorf("worker takes no arguments, got %s", strings.Join(pos, " ")), nil)
	}
	rates := map[string]float64{}
	kinds := providers.Default().Names()
	for _, r := range a.rates {
		k, n, ok := strings.Cut(r, "=")
		f, perr := strconv.ParseFloat(n, 64)
		if !ok || k == "" || perr != nil || f <= 0 {
			return v.fail(errUsage, fmt.Errorf("--rate %q: expected KIND=N with N > 0 requests per second, e.g. workers-ai=100", r), nil)
		}
		if !slices.Contains(kinds, k) {
			return v.fail(errUsage, fmt.Errorf("--rate %q: unknown provider kind %q (known: %s)", r, k, strings.Join(kinds, ", ")), nil)
		}
		rates[k] = f
	}
	dir := ""
	if a.stateDir != "" {
		dir = stateDir(a.stateDir, "")
	}
	// The worker's own: a run's state URL never travels in its workflow input.
	stateURL, err := resolveStateURL(a.stateURL, nil)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := a.temporal.conn()
	if a.debug {
		c.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	cl, err := temporal.Dial(ctx, c)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	defer cl.Close()
	acts := &temporal.Activities{StateDir: dir, StateURL: stateURL, Compile: workerCompile(a.allowRead), Options: workerRunOptions}
	defer acts.Close()
	ws := temporal.NewWorkers(cl, c, acts, temporal.WorkerOptions{RatePerSecond: rates, Providers: kinds, MaxConcurrentActivities: a.activities})
	go temporal.KeepBundlesTidy(ctx, acts, func(err error) { fmt.Fprintf(stderr, "aiflow worker: warning: %v\n", err) })
	fmt.Fprintf(stderr, "aiflow worker: serving task queue %s (and %s-<provider>) on %s\n", c.TaskQueue, c.TaskQueue, addressOf(c))
	if err := temporal.Serve(ctx, ws); err != nil {
		return v.fail(errState, err, nil)
	}
	return exitOK
}

func addressOf(c temporal.Conn) string {
	if c.Address != "" {
		return c.Address
	}
	if env := os.Getenv("TEMPORAL_ADDRESS"); env != "" {
		return env
	}
	return "localhost:7233"
}

// compileObserved compiles flow file (source src) as a run would, telling observe every
// file it or a plan of it reads, env() reading lookupEnv.
func compileObserved(file string, src []byte, allowRead []string, observe func(string), lookupEnv func(string) (string, bool)) (*engine.Flow, error) {
	roots, err := spec.NewReadRoots(filepath.Dir(file), allowRead...)
	if err != nil {
		return nil, fmt.Errorf("--allow-read: %w", err)
	}
	roots.SetObserver(observe)
	f, diags := spec.ParseIn(file, src, roots)
	if diags.HasErrors() || f == nil {
		return nil, diags.Err()
	}
	fl, more := engine.Compile(f, engine.Options{LookupEnv: lookupEnv})
	if more.HasErrors() {
		return nil, more.Err()
	}
	return fl, nil
}

// workerCompile compiles a run's flow from its bundled source, reading files from the
// flow's directory as unpacked from the run's bundle (or, for a run started before
// bundles carried files, the flow's directory on this machine), and the roots the worker
// allows.
func workerCompile(allow []string) func(file string, src []byte, allowRead []string) (*engine.Flow, error) {
	return func(file string, src []byte, allowRead []string) (*engine.Flow, error) {
		roots, err := spec.NewReadRoots(filepath.Dir(file), append(append([]string(nil), allow...), allowRead...)...)
		if err != nil {
			return nil, fmt.Errorf("--allow-read: %w", err)
		}
		f, diags := spec.ParseIn(file, src, roots)
		if diags.HasErrors() || f == nil {
			return nil, diags.Err()
		}
		f.File = file
		fl, more := engine.Compile(f, engine.Options{})
		if more.HasErrors() {
			return nil, more.Err()
		}
		return fl, nil
	}
}

// workerRunOptions gives a worker's runs what a local run gets from the CLI: databases
// and prompt resources from the run's state.
func workerRunOptions(fl *engine.Flow, st *store.Store, dir string, opts *engine.RunOptions) {
	iopts := infra.Options{StateDir: dir, Vars: opts.Vars}
	opts.OpenDatabase = func(ctx context.Context, name string) (providers.Database, error) {
		return infra.OpenDatabase(ctx, fl, st, iopts, name)
	}
	opts.Prompts = func(ctx context.Context) (map[string]map[string]any, error) { return infra.Prompts(ctx, fl, st, iopts) }
}
