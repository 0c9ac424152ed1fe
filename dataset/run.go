package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/providers"
)

// Row statuses in the results file.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	statusCancelled = "cancelled" // never written: a resume runs the row again
	statusBudget    = "budget"    // refused by the dataset's shared budget; never written
)

// Result is one line of the results file.
type Result struct {
	Row       int             `json:"row"`
	Line      int             `json:"line,omitempty"`
	Input     map[string]any  `json:"input"`
	Vars      map[string]any  `json:"-"`
	Outputs   map[string]any  `json:"outputs"`
	Status    string          `json:"status"`
	Error     string          `json:"error,omitempty"`
	Usage     providers.Usage `json:"usage"`
	CostUSD   float64         `json:"cost_usd"`
	LatencyMS float64         `json:"latency_ms"`
	Steps     []StepInfo      `json:"steps,omitempty"`
	// Extra is what Options.Annotate attached (evaluations: the row's scores); not written.
	Extra any `json:"-"`

	budgetErr *engine.BudgetError // the shared budget's refusal (statusBudget)
}

// StepInfo is what a row's step did, kept for evaluations (cost and models by step).
type StepInfo struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Model  string `json:"model,omitempty"`
}

// Stats are a dataset run's counts so far.
type Stats struct {
	Total    int // rows in the input (an estimate for CSV), including resumed ones
	Resumed  int // rows already in the results file when the run began
	Done     int // rows finished by this run (succeeded or failed), in order
	Failed   int
	Usage    providers.Usage
	Elapsed  time.Duration
	Canceled bool
	// BudgetStopped is set when the dataset's shared budget (Options.Run.SharedBudget)
	// refused a call: the rows from the refused one on were not run or written.
	BudgetStopped bool
}

// RowsPerSecond is the rate of this run's finished rows.
func (s Stats) RowsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Done) / s.Elapsed.Seconds()
}

// ETA estimates the time left at the current rate.
func (s Stats) ETA() time.Duration {
	left := s.Total - s.Resumed - s.Done
	r := s.RowsPerSecond()
	if left <= 0 || r == 0 {
		return 0
	}
	return time.Duration(float64(left) / r * float64(time.Second))
}

// Options configure a dataset run.
type Options struct {
	Flow   *engine.Flow
	Source Source
	Map    map[string]string // var → column (ResolveMap)
	Vars   map[string]any    // vars every row gets (--var); a mapped column wins
	// Run is the template of every row's run. Ephemeral and Pool are set by Run.
	Run engine.RunOptions
	// Parallelism is the number of rows running at once.
	Parallelism int
	// Results receives one JSON line per row, in input order.
	Results io.Writer
	// Skip is the number of leading rows already in the results file (resume).
	Skip int
	// Progress, when set, is called with the counts at most every ProgressEvery and once
	// at the end.
	Progress      func(Stats)
	ProgressEvery time.Duration
	// Annotate, when set, runs on each finished row in the worker that ran it, so slow
	// work per row (a judge model scoring it) runs in parallel too; it may set Extra.
	Annotate func(context.Context, *Result)
	// OnResult, when set, sees every result as it is written, in input order.
	OnResult func(Result)
}

// Run runs the flow once per row, Parallelism rows at once, and writes the results in
// input order. A failed row does not stop the others. Rows finish out of order, so the
// results wait in a window of 4 × Parallelism rows; a slow row holds back at most that
// many, which bounds memory. When ctx is cancelled the rows in flight are dropped, so
// the results file ends at the last row before the first unfinished one and
// OpenResults(…, resume) continues from there.
func Run(ctx context.Context, o Options) (Stats, error) {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	par := max(o.Parallelism, 1)
	window := max(4*par, 16)
	pool := o.Run.Pool
	if pool == nil {
		pool = engine.NewProviderPool()
		defer pool.Close()
	}
	started := time.Now()
	stats := Stats{Total: o.Source.Total(), Resumed: o.Skip}
	tokens := make(chan struct{}, window)
	jobs := make(chan Row)
	results := make(chan Result, window)
	go func() {
		defer close(jobs)
		for {
			r, ok := o.Source.Next()
			if !ok {
				return
			}
			if r.N <= o.Skip {
				continue
			}
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				res := o.runRow(ctx, r, pool)
				if res.Status == statusBudget {
					// The dataset's shared budget is spent: this row and the rows after it
					// are not written, so --resume continues from here with a new budget.
					stop(res.budgetErr)
					res.Status = statusCancelled
				}
				if o.Annotate != nil && res.Status != statusCancelled {
					o.Annotate(ctx, &res)
				}
				results <- res
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	bw := bufio.NewWriterSize(o.Results, 256<<10)
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false)
	pending := map[int]Result{}
	next := o.Skip + 1
	stopped := false
	var werr error
	lastProgress := time.Now()
	for res := range results {
		pending[res.Row] = res
		for !stopped {
			r, ok := pending[next]
			if !ok {
				break
			}
			if r.Status == statusCancelled {
				stopped = true
				break
			}
			delete(pending, next)
			next++
			line.Reset()
			if err := enc.Encode(r); err != nil {
				r = Result{Row: r.Row, Line: r.Line, Status: StatusFailed, Error: "encoding the result: " + err.Error()}
				line.Reset()
				_ = enc.Encode(r)
			}
			if _, err := bw.Write(line.Bytes()); err != nil && werr == nil {
				werr = fmt.Errorf("writing results: %w", err)
			}
			stats.Done++
			if r.Status == StatusFailed {
				stats.Failed++
			}
			stats.Usage = stats.Usage.Add(r.Usage)
			if o.OnResult != nil {
				o.OnResult(r)
			}
			<-tokens
		}
		if len(results) == 0 { // idle: put what is done on disk
			if err := bw.Flush(); err != nil && werr == nil {
				werr = fmt.Errorf("writing results: %w", err)
			}
		}
		if o.Progress != nil && time.Since(lastProgress) >= o.ProgressEvery {
			lastProgress = time.Now()
			stats.Elapsed = time.Since(started)
			o.Progress(stats)
		}
	}
	if err := bw.Flush(); err != nil && werr == nil {
		werr = fmt.Errorf("writing results: %w", err)
	}
	stats.Elapsed = time.Since(started)
	stats.Canceled = ctx.Err() != nil
	if o.Progress != nil {
		o.Progress(stats)
	}
	if werr == nil {
		werr = o.Source.Err()
	}
	if be := (*engine.BudgetError)(nil); werr == nil && errors.As(context.Cause(ctx), &be) {
		stats.Canceled = false
		stats.BudgetStopped = true
		werr = fmt.Errorf("the dataset's budget of $%.6f is spent or committed ($%.6f paid): rows from %d on were not run; run again with a larger --budget and --resume last to continue: %w",
			be.Budget, o.Run.SharedBudget.Spent(), next, be)
	}
	if werr == nil && stats.Canceled {
		werr = ctx.Err()
	}
	return stats, werr
}

// runRow runs the flow for one row.
func (o *Options) runRow(ctx context.Context, r Row, pool *engine.ProviderPool) Result {
	res := Result{Row: r.N, Line: r.Line, Input: r.Data, Status: StatusFailed}
	if r.Err != nil {
		res.Error = r.Err.Error()
		return res
	}
	vars := make(map[string]any, len(o.Vars)+len(o.Map))
	for k, v := range o.Vars {
		vars[k] = v
	}
	for v, c := range o.Map {
		if x, ok := r.Data[c]; ok {
			vars[v] = x
		}
	}
	ro := o.Run
	res.Vars = vars
	ro.Vars, ro.Ephemeral, ro.Pool, ro.Resume, ro.RunID = vars, true, pool, "", ""
	start := time.Now()
	out, err := o.Flow.Run(ctx, ro)
	res.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
	if ctx.Err() != nil {
		res.Status = statusCancelled
		return res
	}
	if be := (*engine.BudgetError)(nil); errors.As(err, &be) && be.Shared {
		res.Status, res.budgetErr = statusBudget, be
		return res
	}
	if out != nil {
		res.Outputs, res.Usage, res.CostUSD = out.Outputs, out.Usage, out.Usage.USD
		res.Steps = make([]StepInfo, len(out.Steps))
		for i, s := range out.Steps {
			res.Steps[i] = StepInfo{ID: s.ID, Status: s.Status, Model: s.Model}
		}
	}
	if err != nil {
		res.Error = o.Flow.Redact(err.Error())
		return res
	}
	// The row keeps no run record, so the results file is all that names its images,
	// audio and documents: pin them, or `aiflow gc` would remove their bytes.
	if ro.Store != nil {
		if err := ro.Store.PinBlobs(ctx, "results of a dataset run of "+o.Flow.Spec.Name, out.Outputs); err != nil {
			res.Error = o.Flow.Redact(err.Error())
			return res
		}
	}
	res.Status = StatusSucceeded
	return res
}

// OpenResults opens the results file. Without resume it is created (or emptied). With
// resume, the rows it already holds are kept and their count returned: the file is a
// prefix of the rows in order, and a last line cut short by a kill is dropped.
func OpenResults(path string, resume bool) (f *os.File, done int, err error) {
	if !resume {
		f, err = os.Create(path)
		if err != nil {
			return nil, 0, fmt.Errorf("--results: %w", err)
		}
		return f, 0, nil
	}
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("--results: %w", err)
	}
	keep, done, err := scanResults(f, path)
	if err == nil {
		err = f.Truncate(keep)
	}
	if err == nil {
		_, err = f.Seek(keep, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("--resume: %w", err)
	}
	return f, done, nil
}

// scanResults reads a results file and returns the length of its complete, valid lines
// and the number of rows they hold, checking they are rows 1..n in order.
func scanResults(r io.Reader, path string) (keep int64, rows int, err error) {
	br := bufio.NewReaderSize(r, 256<<10)
	for {
		b, rerr := br.ReadBytes('\n')
		if len(b) > 0 && b[len(b)-1] == '\n' {
			var head struct {
				Row int `json:"row"`
			}
			if err := json.Unmarshal(b, &head); err != nil {
				if rerr == io.EOF {
					return keep, rows, nil
				}
				return 0, 0, fmt.Errorf("%s:%d: not a results line: %v", path, rows+1, err)
			}
			if head.Row != rows+1 {
				return 0, 0, fmt.Errorf("%s:%d: row %d where row %d was expected (not a results file of this dataset?)", path, rows+1, head.Row, rows+1)
			}
			rows++
			keep += int64(len(b))
		}
		if errors.Is(rerr, io.EOF) {
			return keep, rows, nil
		}
		if rerr != nil {
			return 0, 0, rerr
		}
	}
}
