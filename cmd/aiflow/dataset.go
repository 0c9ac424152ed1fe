package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/aiflow/aiflow/dataset"
	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/infra"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
)

// datasetArgs are run's flags for a dataset run (--inputs).
type datasetArgs struct {
	inputs  string
	maps    varFlags
	results string
}

// prepared is a dataset opened and mapped onto the flow's vars, ready to run: what run
// --inputs and eval share. Everything that can be wrong with the input or --map is
// found here, before any row runs.
type prepared struct {
	fs      *flowState
	src     dataset.Source
	mapping map[string]string
	abs     string
}

func (p *prepared) close() {
	if p.src != nil {
		p.src.Close()
	}
	p.fs.st.Close()
}

func prepareDataset(v view, a runArgs) (*prepared, int) {
	fs, code := openFlowState(v, a.flow, a.vars, a.varsFile, a.stateDir, a.stateURL, a.allowRead)
	if fs == nil {
		return nil, code
	}
	if code := selectVariants(fs, a, v); code != exitOK {
		fs.st.Close()
		return nil, code
	}
	p := &prepared{fs: fs, abs: absPath(a.flow)}
	fs.fl.Spec.File = p.abs
	explicit, err := dataset.ParseMap(a.data.maps)
	if err != nil {
		fs.st.Close()
		return nil, v.fail(errUsage, err, nil)
	}
	if p.src, err = dataset.Open(a.data.inputs); err != nil {
		fs.st.Close()
		return nil, v.fail(errInput, err, nil)
	}
	var names []string
	for _, sv := range fs.fl.Spec.Vars {
		names = append(names, sv.Name)
	}
	if p.mapping, err = dataset.ResolveMap(names, p.src.Columns(), explicit); err != nil {
		p.close()
		return nil, v.fail(errUsage, err, nil)
	}
	return p, exitOK
}

// rowRunOptions is the template of every row's run: the flow's state, resources and
// provider settings, and run's flags.
func rowRunOptions(ctx context.Context, fs *flowState, a runArgs) (engine.RunOptions, error) {
	iopts := infra.Options{StateDir: fs.dir, Vars: fs.vars}
	if err := infra.Check(ctx, fs.fl, fs.st, iopts); err != nil {
		return engine.RunOptions{}, err
	}
	openDB := func(ctx context.Context, name string) (providers.Database, error) {
		return infra.OpenDatabase(ctx, fs.fl, fs.st, iopts, name)
	}
	prompts := func(ctx context.Context) (map[string]map[string]any, error) {
		return infra.Prompts(ctx, fs.fl, fs.st, iopts)
	}
	// --budget caps the dataset as a whole: every row's calls reserve against one shared
	// budget. A flow's own budget: still caps each row.
	var shared *engine.SharedBudget
	if a.budget > 0 {
		shared = engine.NewSharedBudget(a.budget)
	}
	return engine.RunOptions{Store: fs.st, StateDir: fs.dir, Seed: a.seed, NoCache: a.noCache, SharedBudget: shared,
		FailFast: a.failFast, OpenDatabase: openDB, Prompts: prompts, Labels: processLabels()}, nil
}

// executeDataset runs the flow once per row of --inputs (run --inputs).
func executeDataset(ctx context.Context, a runArgs, v view) int {
	if a.resume != "" && a.data.results == "" {
		return v.fail(errUsage, errors.New("--resume with --inputs continues a --results file: pass the same --results"), nil)
	}
	p, code := prepareDataset(v, a)
	if p == nil {
		return code
	}
	defer p.close()
	unlock, err := p.fs.st.LockRun(p.abs, store.NewRunID(), a.lockTimeout)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	defer unlock()
	ro, err := rowRunOptions(ctx, p.fs, a)
	if err != nil {
		return v.fail(errState, err, nil)
	}
	var out io.Writer = v.stdout
	skip := 0
	resultsName := "stdout"
	if a.data.results != "" {
		f, done, err := dataset.OpenResults(a.data.results, a.resume != "")
		if err != nil {
			return v.fail(errInput, err, nil)
		}
		defer f.Close()
		out, skip, resultsName = f, done, a.data.results
	} else if v.json {
		return v.fail(errUsage, errors.New("-o json with --inputs needs --results FILE (stdout carries the summary)"), nil)
	}
	tracing, ctx, err := setupTracing(ctx, a, v)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	defer tracing.Shutdown()
	ctx, endSpan := tracing.Dataset(ctx, p.fs.fl.Spec.Name, filepath.Base(a.data.inputs), p.fs.fl.Redact)
	ro.Tracer = tracing.Engine()
	dp := newDatasetProgress(v.stderr)
	stats, err := dataset.Run(ctx, dataset.Options{Flow: p.fs.fl, Source: p.src, Map: p.mapping, Vars: p.fs.vars, Run: ro,
		Parallelism: a.parallelism, Results: out, Skip: skip, Progress: dp.update, ProgressEvery: dp.every})
	dp.clear()
	endSpan(stats.Done, stats.Failed, err)
	return reportDataset(v, stats, err, resultsName)
}

func reportDataset(v view, s dataset.Stats, err error, results string) int {
	if v.json {
		doc := map[string]any{"format_version": jsonFormatVersion, "dataset": map[string]any{
			"rows": s.Done + s.Resumed, "resumed": s.Resumed, "run": s.Done, "failed": s.Failed, "usage": s.Usage,
			"elapsed_ns": s.Elapsed, "rows_per_second": s.RowsPerSecond(), "results": results}}
		if err != nil {
			doc["error"] = map[string]any{"kind": errRunFailed, "message": err.Error()}
		}
		v.writeJSON(doc)
	} else {
		resumed := ""
		if s.Resumed > 0 {
			resumed = fmt.Sprintf(" (%d more already in %s)", s.Resumed, results)
		}
		fmt.Fprintf(v.stderr, "\nRows: %d run%s, %d succeeded, %d failed, in %s (%.0f rows/s). Tokens: %d in, %d out. Cost: $%.6f. Results: %s.\n",
			s.Done, resumed, s.Done-s.Failed, s.Failed, s.Elapsed.Round(time.Millisecond), s.RowsPerSecond(),
			s.Usage.InputTokens, s.Usage.OutputTokens, s.Usage.USD, results)
		if err != nil {
			fmt.Fprintf(v.stderr, "Error: %v\n", err)
		}
	}
	if err != nil || s.Failed > 0 {
		return exitError
	}
	return exitOK
}

// datasetProgress shows rows done and failed, rows per second, ETA and cost: one line
// redrawn in place on a terminal, a line every 10 s otherwise (logs, CI).
type datasetProgress struct {
	w     io.Writer
	tty   bool
	every time.Duration
	drawn bool
}

func newDatasetProgress(w io.Writer) *datasetProgress {
	p := &datasetProgress{w: w, tty: newScreen(w).tty, every: 10 * time.Second}
	if p.tty {
		p.every = 200 * time.Millisecond
	}
	return p
}

func (p *datasetProgress) update(s dataset.Stats) {
	total := ""
	if s.Total > 0 {
		total = fmt.Sprintf("/%d", s.Total)
	}
	eta := "-"
	if d := s.ETA(); d > 0 {
		eta = d.Round(time.Second).String()
	}
	line := fmt.Sprintf("rows %d%s done, %d failed, %.0f rows/s, ETA %s, $%.6f", s.Resumed+s.Done, total, s.Failed, s.RowsPerSecond(), eta, s.Usage.USD)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.drawn = true
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *datasetProgress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// datasetFlags registers --inputs, --map and --results on run (and eval).
func datasetFlags(fs *flag.FlagSet, d *datasetArgs) {
	fs.StringVar(&d.inputs, "inputs", "", "run once per row of `FILE`: .jsonl, .csv, or a quoted glob (one row per file: path, name, text)")
	fs.Var(&d.maps, "map", "feed dataset column to a var: var=column (repeatable; columns named like a var feed it already)")
	fs.StringVar(&d.results, "results", "", "write one JSON line per row, in input order, to `FILE` (default stdout); --resume last continues it")
}
