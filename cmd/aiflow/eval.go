package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"

	"github.com/aiflow/aiflow/dataset"
	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/eval"
	"github.com/aiflow/aiflow/internal/telemetry"
	"github.com/aiflow/aiflow/spec"
)

func init() {
	register(command{name: "eval", summary: "Score a flow over a labelled dataset with the metrics of its test file", run: evalCmd})
}

type evalArgs struct {
	runArgs
	evalFile string
	scores   string
	compare  string   // --variants STEP
	variant  varFlags // --variant STEP=NAME
}

func evalCmd(args []string, stdout, stderr io.Writer) int {
	var a evalArgs
	fs := newFlags("eval", stderr)
	fs.Var(&a.vars, "var", "set a var for every row: name=value or name=@file (repeatable)")
	fs.StringVar(&a.varsFile, "vars-file", "", "YAML or JSON file of var values")
	fs.StringVar(&a.output, "o", "human", "output format: human (table) or json")
	fs.StringVar(&a.stateDir, "state-dir", "", "state directory (default .aiflow beside the flow)")
	fs.StringVar(&a.stateURL, "state-url", "", stateURLUsage)
	fs.IntVar(&a.parallelism, "parallelism", runtime.NumCPU()*4, "rows running at once")
	fs.BoolVar(&a.noCache, "no-cache", false, "ignore the step cache")
	fs.Var(&a.allowRead, "allow-read", allowReadUsage)
	tracingFlags(fs, &a.runArgs)
	datasetFlags(fs, &a.data)
	fs.StringVar(&a.evalFile, "eval", "", "test file holding the eval: section (default: the flow's <name>.test.yaml)")
	fs.StringVar(&a.scores, "scores", "", "write every row's scores as JSON lines to `FILE`")
	fs.StringVar(&a.compare, "variants", "", "run every variant of `STEP` over the same rows and compare them")
	fs.Var(&a.variant, "variant", "run STEP as its variant NAME: STEP=NAME (repeatable)")
	pos, v, err := parseCommand(fs, &a.output, args, stdout, stderr)
	if err != nil {
		return v.failArgs(err)
	}
	if a.flow, err = flowArg(pos); err != nil {
		return v.fail(errUsage, err, nil)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runEval(ctx, a, v)
}

// variantScores is one variant's run over the dataset and its scores, row by row.
type variantScores struct {
	Name    string         `json:"variant,omitempty"`
	Rows    int            `json:"rows"`
	Failed  int            `json:"failed_rows"`
	Metrics []eval.Summary `json:"metrics"`
	scores  map[string][]eval.Score
}

// comparison is a metric of one variant against the first.
type comparison struct {
	Metric string      `json:"metric"`
	A      string      `json:"a"`
	B      string      `json:"b"`
	Paired eval.Paired `json:"paired"`
}

func runEval(ctx context.Context, a evalArgs, v view) int {
	flowPath, testPath := testFileFor(a.flow)
	if a.evalFile != "" {
		testPath = a.evalFile
	}
	a.flow = flowPath
	tf, diags := parseTestFile(testPath)
	if diags.HasErrors() {
		return v.fail(errInvalidTests, fmt.Errorf("invalid test file %s", testPath), diags)
	}
	if tf.eval == nil {
		return v.fail(errInvalidTests, fmt.Errorf("%s has no eval: section (eval: {inputs, map, metrics: [{name, type, actual, expected}]})", testPath), nil)
	}
	es := tf.eval
	if a.data.inputs == "" {
		a.data.inputs = es.inputs
	}
	if a.data.inputs == "" {
		return v.fail(errUsage, fmt.Errorf("no dataset: pass --inputs FILE or set eval.inputs in %s", testPath), nil)
	}
	a.data.maps = append(append(varFlags{}, es.maps...), a.data.maps...)
	chosen, err := parseVariantFlags(a.variant)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	// The variants to run: every variant of --variants STEP, else the flow as chosen.
	names := []string{""}
	if a.compare != "" {
		fl, d := loadFlow(flowPath, a.allowRead)
		if fl == nil {
			return v.fail(errInvalidFlow, fmt.Errorf("invalid flow %s", flowPath), d)
		}
		n, ok := fl.Nodes[a.compare]
		if !ok {
			return v.fail(errUsage, fmt.Errorf("--variants %s: no such step%s", a.compare, spec.DidYouMean(a.compare, fl.Order)), nil)
		}
		if names = n.Spec.VariantNames(); len(names) == 0 {
			return v.fail(errUsage, fmt.Errorf("--variants %s: the step declares no variants:", a.compare), nil)
		}
	}
	var scoresOut *bufio.Writer
	if a.scores != "" {
		f, err := os.Create(a.scores)
		if err != nil {
			return v.fail(errUsage, fmt.Errorf("--scores: %w", err), nil)
		}
		defer f.Close()
		scoresOut = bufio.NewWriter(f)
		defer scoresOut.Flush()
	}
	tracing, ctx, err := setupTracing(ctx, a.runArgs, v)
	if err != nil {
		return v.fail(errUsage, err, nil)
	}
	defer tracing.Shutdown()
	var runs []*variantScores
	for _, name := range names {
		sel := map[string]string{}
		for k, x := range chosen {
			sel[k] = x
		}
		if name != "" {
			sel[a.compare] = name
		}
		vs, code := evalVariant(ctx, a, v, es, name, sel, scoresOut, tracing)
		if vs == nil {
			return code
		}
		runs = append(runs, vs)
	}
	var comps []comparison
	for _, b := range runs[1:] {
		for _, m := range es.metrics {
			comps = append(comps, comparison{Metric: m.Name, A: runs[0].Name, B: b.Name, Paired: eval.Compare(values(runs[0].scores[m.Name]), values(b.scores[m.Name]))})
		}
	}
	failed := false
	for _, r := range runs {
		for _, s := range r.Metrics {
			failed = failed || len(s.Failed) > 0
		}
	}
	if v.json {
		doc := map[string]any{"format_version": jsonFormatVersion, "flow": absPath(flowPath), "eval_file": testPath, "inputs": a.data.inputs, "variants": runs, "comparisons": comps}
		if failed {
			doc["error"] = map[string]any{"kind": errTestFailed, "message": "a metric threshold is not met"}
		}
		v.writeJSON(doc)
	} else {
		printEval(v.stdout, runs, comps)
	}
	if failed {
		return exitError
	}
	return exitOK
}

func values(s []eval.Score) []float64 {
	out := make([]float64, len(s))
	for i, x := range s {
		out[i] = x.Value
	}
	return out
}

// evalVariant runs the flow (with the chosen variants) over the dataset and scores each
// row as it is written.
func evalVariant(ctx context.Context, a evalArgs, v view, es *evalSpec, name string, sel map[string]string, scoresOut *bufio.Writer, tracing *telemetry.Tracing) (*variantScores, int) {
	a.runArgs.data = a.data
	p, code := prepareDataset(v, a.runArgs)
	if p == nil {
		return nil, code
	}
	defer p.close()
	fl, d := loadFlowVariants(a.flow, a.allowRead, sel)
	if fl == nil {
		return nil, v.fail(errInvalidFlow, fmt.Errorf("invalid flow %s", a.flow), d)
	}
	fl.Spec.File = p.abs
	p.fs.fl = fl
	ro, err := rowRunOptions(ctx, p.fs, a.runArgs)
	if err != nil {
		return nil, v.fail(errState, err, nil)
	}
	rowVars := map[string]any{}
	for k, x := range es.vars {
		rowVars[k] = x
	}
	for k, x := range p.fs.vars { // --var wins over eval.vars
		rowVars[k] = x
	}
	if es.setup != nil {
		so := ro
		so.Vars, so.Ephemeral = copyVars(es.setup), true
		for k, x := range p.fs.vars {
			if _, set := so.Vars[k]; !set {
				so.Vars[k] = x
			}
		}
		if _, err := fl.Run(ctx, so); err != nil {
			return nil, v.fail(errRunFailed, fmt.Errorf("eval.setup run: %s", fl.Redact(err.Error())), nil)
		}
	}
	g := &flowGrader{flowPath: a.flow, allowRead: a.allowRead, run: ro, flows: map[string]*engine.Flow{}, pool: engine.NewProviderPool()}
	vs := &variantScores{Name: name, scores: map[string][]eval.Score{}}
	var scoreErr error
	annotate := func(ctx context.Context, r *dataset.Result) {
		row := eval.Row{Input: r.Input, Vars: r.Vars, Outputs: r.Outputs, LatencyMS: r.LatencyMS, CostUSD: r.CostUSD}
		scores := make(map[string]eval.Score, len(es.metrics))
		for _, m := range es.metrics {
			scores[m.Name] = m.Score(ctx, row, g)
		}
		r.Extra = scores
	}
	onResult := func(r dataset.Result) {
		scores, _ := r.Extra.(map[string]eval.Score)
		for _, m := range es.metrics {
			vs.scores[m.Name] = append(vs.scores[m.Name], scores[m.Name])
		}
		if scoresOut == nil {
			return
		}
		line := map[string]any{"row": r.Row, "status": r.Status, "scores": scores}
		if name != "" {
			line["variant"] = name
		}
		if r.Error != "" {
			line["error"] = r.Error
		}
		b, _ := json.Marshal(line)
		if _, err := scoresOut.Write(append(b, '\n')); err != nil && scoreErr == nil {
			scoreErr = err
		}
	}
	var out io.Writer = io.Discard
	if a.data.results != "" {
		path := a.data.results
		if name != "" {
			path = strings.TrimSuffix(path, ".jsonl") + "." + name + ".jsonl"
		}
		f, err := os.Create(path)
		if err != nil {
			return nil, v.fail(errUsage, fmt.Errorf("--results: %w", err), nil)
		}
		defer f.Close()
		out = f
	}
	// Each variant's rows are one trace under a dataset span named for the variant.
	spanName := fl.Spec.Name
	if name != "" {
		spanName += " variant " + name
	}
	ctx, endSpan := tracing.Dataset(ctx, spanName, filepath.Base(a.data.inputs), fl.Redact)
	ro.Tracer = tracing.Engine()
	dp := newDatasetProgress(v.stderr)
	stats, err := dataset.Run(ctx, dataset.Options{Flow: fl, Source: p.src, Map: p.mapping, Vars: rowVars, Run: ro,
		Parallelism: a.parallelism, Results: out, Progress: dp.update, ProgressEvery: dp.every, Annotate: annotate, OnResult: onResult})
	dp.clear()
	endSpan(stats.Done, stats.Failed, err)
	g.close()
	if err == nil {
		err = scoreErr
	}
	if err != nil {
		return nil, v.fail(errRunFailed, err, nil)
	}
	vs.Rows, vs.Failed = stats.Done, stats.Failed
	for _, m := range es.metrics {
		vs.Metrics = append(vs.Metrics, eval.Summarize(m, vs.scores[m.Name]))
	}
	return vs, exitOK
}

func printEval(w io.Writer, runs []*variantScores, comps []comparison) {
	for _, r := range runs {
		title := "Eval"
		if r.Name != "" {
			title = "Variant " + r.Name
		}
		fmt.Fprintf(w, "%s: %d rows, %d failed\n", title, r.Rows, r.Failed)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  metric\tmean\t95% CI\tpass rate\t95% CI\t")
		for _, s := range r.Metrics {
			fmt.Fprintf(tw, "  %s\t%s\t[%s, %s]\t%.1f%%\t[%.1f%%, %.1f%%]\t\n", s.Metric, num(s.Mean), num(s.MeanCI.Low), num(s.MeanCI.High),
				100*s.PassRate, 100*s.RateCI.Low, 100*s.RateCI.High)
		}
		tw.Flush()
		for _, s := range r.Metrics {
			for _, f := range s.Failed {
				fmt.Fprintf(w, "  FAIL %s: %s\n", s.Metric, f)
			}
			if s.Errors > 0 {
				fmt.Fprintf(w, "  %s: %d rows could not be scored (see --scores)\n", s.Metric, s.Errors)
			}
		}
		fmt.Fprintln(w)
	}
	if len(comps) == 0 {
		return
	}
	fmt.Fprintf(w, "Difference (paired, same rows):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  metric\tvariants\tdifference\t95% CI\ttest\tp\t")
	for _, c := range comps {
		sig := "not significant"
		if c.Paired.Significant() {
			sig = "significant"
		}
		fmt.Fprintf(tw, "  %s\t%s − %s\t%+.4g\t[%+.4g, %+.4g]\t%s\t%.3g (%s)\t\n", c.Metric, c.B, c.A, c.Paired.Diff, c.Paired.CI.Low, c.Paired.CI.High, c.Paired.Test, c.Paired.PValue, sig)
	}
	tw.Flush()
}

func num(f float64) string { return fmt.Sprintf("%.4g", f) }

// flowGrader runs the model-graded metrics as one-step flows built from the evaluated
// flow's providers and models: a generate step for judge, an embed step for similarity.
// They run like any step: cached by content, so re-scoring unchanged answers is free.
type flowGrader struct {
	flowPath  string
	allowRead []string
	run       engine.RunOptions
	pool      *engine.ProviderPool // shared by the metric runs of every row

	mu    sync.Mutex // rows are scored in parallel
	flows map[string]*engine.Flow
}

func (g *flowGrader) close() { g.pool.Close() }

const judgeSystem = "You grade an answer against a rubric. Reply with a score between 0 and 1 on the first line (1: fully meets the rubric, 0: not at all), then one short sentence saying why."

func (g *flowGrader) flow(m *eval.Metric) (*engine.Flow, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if fl, ok := g.flows[m.Name]; ok {
		return fl, nil
	}
	src, err := os.ReadFile(g.flowPath)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yamlUnmarshal(src, &doc); err != nil {
		return nil, err
	}
	vars, _ := doc["vars"].(map[string]any)
	if vars == nil {
		vars = map[string]any{}
	}
	for _, k := range []string{"eval_actual", "eval_expected", "eval_rubric", "eval_input"} {
		vars[k] = map[string]any{"type": "string", "default": ""}
	}
	out := map[string]any{"aiflow": doc["aiflow"], "name": fmt.Sprintf("%v-metric-%s", doc["name"], m.Name), "vars": vars}
	for _, k := range []string{"providers", "models"} {
		if doc[k] != nil {
			out[k] = doc[k]
		}
	}
	switch m.Kind {
	case eval.Judge:
		out["steps"] = map[string]any{"judge": map[string]any{"uses": "generate", "model": m.Model,
			"prompt": map[string]any{"system": judgeSystem,
				"user": "Rubric: ${ vars.eval_rubric }\n\nInput: ${ vars.eval_input }\n\nReference: ${ vars.eval_expected }\n\nAnswer to grade: ${ vars.eval_actual }"},
			"params": map[string]any{"temperature": 0}}}
		out["outputs"] = map[string]any{"text": "${ steps.judge.output.text }"}
	case eval.Similarity:
		out["steps"] = map[string]any{"sim": map[string]any{"uses": "embed", "model": m.Model,
			"with": map[string]any{"texts": []any{"${ vars.eval_actual }", "${ vars.eval_expected }"}}}}
		out["outputs"] = map[string]any{"vectors": "${ steps.sim.output.vectors }"}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	f, diags := spec.Parse(g.flowPath, b)
	if diags.HasErrors() {
		return nil, fmt.Errorf("metric %s: %w", m.Name, diags.Err())
	}
	fl, diags := engine.Compile(f, engine.Options{})
	if diags.HasErrors() {
		return nil, fmt.Errorf("metric %s: %w", m.Name, diags.Err())
	}
	fl.Spec.File = absPath(g.flowPath)
	g.flows[m.Name] = fl
	return fl, nil
}

func (g *flowGrader) runMetric(ctx context.Context, m *eval.Metric, r eval.Row, actual, expected string) (map[string]any, error) {
	fl, err := g.flow(m)
	if err != nil {
		return nil, err
	}
	vars := map[string]any{}
	for k, x := range r.Vars {
		vars[k] = x
	}
	in, _ := json.Marshal(r.Input)
	vars["eval_actual"], vars["eval_expected"], vars["eval_rubric"], vars["eval_input"] = actual, expected, m.Rubric, string(in)
	ro := g.run
	ro.Vars, ro.Ephemeral, ro.Pool = vars, true, g.pool
	res, err := fl.Run(ctx, ro)
	if err != nil {
		return nil, errors.New(fl.Redact(err.Error()))
	}
	return res.Outputs, nil
}

// Judge implements eval.Grader: the first number of the judge's answer, clamped to
// [0, 1] (a score out of 10 or 100 is scaled down).
func (g *flowGrader) Judge(ctx context.Context, m *eval.Metric, r eval.Row, actual, expected string) (float64, string, error) {
	out, err := g.runMetric(ctx, m, r, actual, expected)
	if err != nil {
		return 0, "", err
	}
	text, _ := out["text"].(string)
	return parseGrade(text)
}

func parseGrade(text string) (float64, string, error) {
	first, rest, _ := strings.Cut(strings.TrimSpace(text), "\n")
	var f float64
	for _, tok := range strings.FieldsFunc(first, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') }) {
		if _, err := fmt.Sscan(tok, &f); err == nil {
			switch {
			case f > 10:
				f /= 100
			case f > 1:
				f /= 10
			}
			return min(max(f, 0), 1), strings.TrimSpace(rest), nil
		}
	}
	return 0, "", fmt.Errorf("the judge gave no score: %q", abbreviate(text, 80))
}

// Similarity implements eval.Grader: the cosine of the two embeddings.
func (g *flowGrader) Similarity(ctx context.Context, m *eval.Metric, r eval.Row, actual, expected string) (float64, error) {
	out, err := g.runMetric(ctx, m, r, actual, expected)
	if err != nil {
		return 0, err
	}
	vecs, _ := out["vectors"].([]any)
	if len(vecs) != 2 {
		return 0, fmt.Errorf("the embed step returned %d vectors, want 2", len(vecs))
	}
	return cosine(floats(vecs[0]), floats(vecs[1])), nil
}

func floats(v any) []float64 {
	list, _ := v.([]any)
	out := make([]float64, len(list))
	for i, x := range list {
		switch n := x.(type) {
		case float64:
			out[i] = n
		case float32:
			out[i] = float64(n)
		}
	}
	return out
}

func cosine(a, b []float64) float64 {
	var dot, na, nb float64
	for i := range min(len(a), len(b)) {
		dot, na, nb = dot+a[i]*b[i], na+a[i]*a[i], nb+b[i]*b[i]
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / (math.Sqrt(na) * math.Sqrt(nb))
}
