package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// RunOptions configure one run.
type RunOptions struct {
	Vars        map[string]any // values given on the command line (strings are coerced to var types)
	Store       *store.Store   // where the run is recorded; required
	StateDir    string         // the .aiflow directory (local indexes live there)
	Hooks       []Hook
	Parallelism int  // steps (and for_each items) executing at once; default NumCPU × 4
	FailFast    bool // cancel everything at the first failure
	Resume      string
	// RunID is the ID of a new run, chosen by the caller so it can name the run before it
	// starts (the CLI records it in the flow's run lock); empty means a fresh one. A
	// resume keeps the resumed run's ID.
	RunID      string
	Executor   Executor
	HTTPClient *http.Client // handed to providers (tests point it at emulators)
	Debug      io.Writer    // redacted HTTP trace of every provider call
	Seed       int64
	NoCache    bool
	BudgetUSD  float64           // overrides the flow's budget: when > 0
	Engine     string            // recorded; "local" by default
	Labels     map[string]string // recorded with the run (the CLI records pid and host)
	// Now is the run's clock: step records, the events of steps and cache expiry read
	// it (time.Now by default). A step reads it twice, when it starts and when it ends,
	// and its events carry those same times.
	Now func() time.Time
	// BatchPoll is the wait before the first poll of an asynchronous batch for steps
	// that set no batch.poll; 0 means providers.BatchPollDefault. Tests shorten it.
	BatchPoll time.Duration
	// OpenDatabase opens a database resource for steps (Env.Database); the CLI passes
	// infra.OpenDatabase. Nil means steps cannot use databases.
	OpenDatabase func(ctx context.Context, name string) (providers.Database, error)
	// Prompts returns the active version of every prompt resource ({system, model,
	// params, version, …} by resource name); they join the resources scope, so a step
	// writes ${ resources.summarise.system }.
	Prompts func(ctx context.Context) (map[string]map[string]any, error)
	// Ephemeral runs are not recorded in the run store (no run, step, usage or turn
	// records); the step cache is still read and written. A dataset run runs every row
	// as an ephemeral run and keeps its own per-row results file instead, so 100,000 rows
	// neither flood `aiflow runs` nor pay a store transaction each.
	Ephemeral bool
	// Pool, when set, shares opened providers (and with them their rate limiters and
	// concurrency limits) between runs, so parallel dataset rows stay within a
	// provider's limits together; the caller closes it after the last run.
	Pool *ProviderPool
	// SharedBudget, when set, is a budget this run draws on together with other runs
	// (the rows of a dataset run): every call reserves against it as well as against the
	// run's own budget, so the runs together never commit more than it.
	SharedBudget *SharedBudget
	// WrapProvider, when set, is handed each provider the run needs (its providers: name,
	// its kind, and a func that opens it) and returns what the run's steps call instead.
	// aiflow test uses it for mocks: the wrapper answers mocked calls itself and opens the
	// real provider only for a call no mock matches, so a flow runs offline. Never set
	// from a flow file.
	WrapProvider func(name, kind string, open func() (providers.Provider, error)) (providers.Provider, error)
	// SyncItems writes each for_each item's record (its answer) to the store as soon as
	// the answer arrives, before the next call, instead of in the recorder's next group
	// commit. Temporal workers set it: a killed worker's retried activity reuses every
	// answer the worker got, where a queued one would be paid for again.
	SyncItems bool
	// Tracer, when set, opens a span for the run, each step and each for_each item (see
	// Tracer); the run records its trace id. Nil, the default, traces nothing.
	Tracer Tracer

	// parent is the run a sub-flow runs for: its budget bounds the sub-flow's calls too,
	// and what the sub-flow pays is added to it as it is paid.
	parent *walker
}

// Step statuses recorded in the run store and reported in results.
const (
	StatusSucceeded = "succeeded"
	StatusCached    = "cached"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
	StatusRunning   = "running"
	StatusCancelled = "cancelled"
)

// StepResult is a step's outcome.
type StepResult struct {
	ID       string          `json:"id"`
	Status   string          `json:"status"`
	Reason   string          `json:"reason,omitempty"`
	Error    string          `json:"error,omitempty"`
	Model    string          `json:"model,omitempty"`
	Attempts int             `json:"attempts,omitempty"`
	Items    int             `json:"items,omitempty"`
	Cached   int             `json:"cached_items,omitempty"`
	Usage    providers.Usage `json:"usage"`
	Elapsed  time.Duration   `json:"elapsed_ns"`
	// Meta holds provider facts about the call, e.g. cf-aig-cache-status.
	Meta map[string]string `json:"meta,omitempty"`
}

// RunResult is what a run produced.
type RunResult struct {
	RunID string `json:"run_id"`
	// TraceID is the run's OpenTelemetry trace id when RunOptions.Tracer was set.
	TraceID string          `json:"trace_id,omitempty"`
	Status  string          `json:"status"`
	Outputs map[string]any  `json:"outputs"`
	Steps   []StepResult    `json:"steps"`
	Usage   providers.Usage `json:"usage"`
	Elapsed time.Duration   `json:"elapsed_ns"`
	// BudgetUSD is the run's budget, 0 when it has none.
	BudgetUSD float64 `json:"budget_usd,omitempty"`
	// Arms counts, per split route, which model served how many calls.
	Arms map[string]map[string]*ArmStats `json:"split_arms,omitempty"`
}

// StepError is a failed step, with where the step is declared.
type StepError struct {
	StepID string
	Pos    spec.Pos
	Err    error
}

func (e *StepError) Error() string {
	var ee *ExprError
	if errors.As(e.Err, &ee) {
		return fmt.Sprintf("%s: step %q: %s", ee.Pos, e.StepID, ee.message())
	}
	return fmt.Sprintf("%s: step %q: %v", e.Pos, e.StepID, e.Err)
}

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// RunError reports a run whose steps failed; Steps holds one error per failed step
// (not the ones skipped because of them).
type RunError struct{ Steps []*StepError }

func (e *RunError) Error() string {
	msgs := make([]string, len(e.Steps))
	for i, s := range e.Steps {
		msgs[i] = s.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap exposes the step errors to errors.Is/As.
func (e *RunError) Unwrap() []error {
	out := make([]error, len(e.Steps))
	for i, s := range e.Steps {
		out[i] = s
	}
	return out
}

// defaults fills the zero fields of opts a run needs (engine names the engine that runs
// it) and points the flow's blob() at the state's blob store.
func (fl *Flow) defaults(opts *RunOptions, engine string) {
	if opts.Parallelism <= 0 {
		opts.Parallelism = runtime.NumCPU() * 4
	}
	if opts.Executor == nil {
		opts.Executor = InProcess{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Engine == "" {
		opts.Engine = engine
	}
	if opts.StateDir != "" {
		fl.funcs.useBlobs(blob.NewStore(BlobDir(opts.StateDir)))
	}
}

// Run executes the flow and records it. It returns the result (also on failure, with the
// statuses of every step) and a *RunError when steps failed.
func (fl *Flow) Run(ctx context.Context, opts RunOptions) (*RunResult, error) {
	if opts.Store == nil {
		return nil, errors.New("run: no run store")
	}
	fl.defaults(&opts, "local")
	w, err := fl.newWalker(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer w.close()
	return w.run(ctx)
}

// resolveVars applies given values and defaults and checks types and enums.
func (fl *Flow) resolveVars(given map[string]any, base map[string]any) (map[string]any, error) {
	var diags spec.Diagnostics
	out := map[string]any{}
	var known []string
	for _, v := range fl.Spec.Vars {
		known = append(known, v.Name)
	}
	names := make([]string, 0, len(given))
	for k := range given {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if fl.Spec.VarByName(k) == nil {
			diags.Errorf(spec.Pos{}, "vars."+k, "unknown var %q%s", k, spec.DidYouMean(k, known))
			diags[len(diags)-1].Detail = declared("vars", known)
		}
	}
	for _, v := range fl.Spec.Vars {
		val, ok := given[v.Name]
		switch {
		case ok:
			val = coerceVar(v, val)
		case v.Default != nil:
			t, _, d := fl.compiler.Compile(v.Default)
			if d.HasErrors() {
				diags.Add(d)
				continue
			}
			dv, err := t.Eval(base)
			if err != nil {
				diags.Errorf(v.Default.Pos, v.Default.Path, "%v", err)
				continue
			}
			val = coerceVar(v, dv)
		default:
			diags.Errorf(v.Pos, "vars."+v.Name, "missing value for var %q", v.Name)
			diags[len(diags)-1].Detail = fmt.Sprintf("pass --var %s=… (or --var %s=@file, or --vars-file)", v.Name, v.Name)
			continue
		}
		if err := spec.CheckVarValue(v, val); err != nil {
			diags.Errorf(v.Pos, "vars."+v.Name, "value %v", err)
			continue
		}
		out[v.Name] = val
	}
	return out, diags.Err()
}

// coerceVar converts command-line strings to the var's declared type when they parse.
func coerceVar(v *spec.Var, val any) any {
	s, ok := val.(string)
	if !ok {
		return val
	}
	switch v.Type {
	case "integer", "number", "boolean", "list", "object":
		var x any
		if err := json.Unmarshal([]byte(s), &x); err == nil {
			if f, isF := x.(float64); isF && v.Type == "integer" && f == float64(int(f)) {
				return int(f)
			}
			return x
		}
	}
	return val
}

// redactVars hides secret vars and env() values for the run store.
func (fl *Flow) redactVars(vars map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range vars {
		if sv := fl.Spec.VarByName(k); sv != nil && sv.Secret {
			out[k] = redactedMark
			continue
		}
		out[k] = fl.secrets.redactValue(v)
	}
	return out
}

// Redact hides every secret this flow has read (env() values) in s.
func (fl *Flow) Redact(s string) string { return fl.secrets.Redact(s) }

// view is the step as expressions see it, ${ steps.<id>.output } and .status, built
// once when the step is done for every step that reads it (a map per reader was a tenth
// of the engine's cost on small flows).
func (st *stepState) view() map[string]any {
	st.viewOnce.Do(func() { st.viewMap = map[string]any{"output": st.output, "status": statusValue(st.status)} })
	return st.viewMap
}

// statusValue is status as an interface value, without allocating one for the
// statuses a step ends with.
func statusValue(status string) any {
	switch status {
	case StatusSucceeded:
		return StatusSucceeded
	case StatusCached:
		return StatusCached
	case StatusFailed:
		return StatusFailed
	case StatusSkipped:
		return StatusSkipped
	case StatusCancelled:
		return StatusCancelled
	}
	return status
}

type stepState struct {
	viewOnce sync.Once
	viewMap  map[string]any
	status   string
	output   any
	out      encoded // output as recorded
	err      error
	reason   string
	done     chan struct{}
	result   StepResult
	skippedW bool // skipped by its own when:
	meta     map[string]string
	inputs   string      // the call's content hash, for the step record
	call     *steps.Call // the step's call, kept for its span when the run is traced
}
