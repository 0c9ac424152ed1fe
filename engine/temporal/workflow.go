package temporal

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aiflow/aiflow/engine"
)

// acts is a nil *Activities: the workflow names activities by its methods, which
// workers register on a real value (the SDK calls the registered function).
var acts *Activities

// interpreterChange names the workflow.GetVersion marker around changes to how the
// workflow walks a plan; version 1 is the first interpreter. A change adds a version
// and keeps the old branch, so runs in flight replay as they were recorded.
const interpreterChange = "aiflow-interpreter"

// maxInFlight bounds the item activities of one step pending at once, well below
// Temporal's limit of 2,000 pending activities per workflow.
const maxInFlight = 500

// Workflow runs one flow: it walks the plan in dependency order, each step in its own
// workflow goroutine, and leaves all flow semantics (when:, for_each, cache, routing,
// records, outputs) to activities built on engine.Session. It returns the run's result;
// a run whose steps failed returns its result too (status failed), and an error only
// when the machinery failed.
func Workflow(ctx workflow.Context, in Input) (*Outcome, error) {
	if v := workflow.GetVersion(ctx, interpreterChange, workflow.DefaultVersion, 1); v == workflow.DefaultVersion {
		return nil, fmt.Errorf("run %s: recorded by an interpreter this worker does not have", in.Ref.RunID)
	}
	r := &runner{in: in, done: map[string]workflow.Future{}, par: in.Parallelism}
	if r.par <= 0 || r.par > maxInFlight {
		r.par = maxInFlight
	}
	settables := map[string]workflow.Settable{}
	for _, s := range in.Steps {
		f, set := workflow.NewFuture(ctx)
		r.done[s.ID], settables[s.ID] = f, set
	}
	for _, s := range in.Steps {
		workflow.Go(ctx, func(gctx workflow.Context) {
			for _, d := range s.Deps {
				if f, ok := r.done[d]; ok {
					_ = f.Get(gctx, nil) // a dependency's own failure is its step's; the engine decides the skip
				}
			}
			settables[s.ID].Set(nil, r.step(gctx, s))
		})
	}
	var failed error
	for _, s := range in.Steps {
		if err := r.done[s.ID].Get(ctx, nil); err != nil && failed == nil {
			failed = fmt.Errorf("step %q: %w", s.ID, err)
		}
	}
	if failed != nil {
		return nil, failed
	}
	var out Outcome
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.FinishRun, in.Ref).Get(ctx, &out); err != nil {
		return nil, fmt.Errorf("finishing run: %w", err)
	}
	return &out, nil
}

type runner struct {
	in    Input
	done  map[string]workflow.Future
	par   int
	spent float64 // USD paid by item activities so far, as they reported
}

// localCtx sets the options of local activities: short, retried a few times (they only
// read and write the run store and evaluate expressions).
func localCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5},
	})
}

// activityCtx sets the options of step activities. Provider retries stay in the engine
// (Retry-After, fallbacks, paid attempts counted), so Temporal retries an activity only
// when its worker is lost or the machinery failed; the engine's non-retryable errors
// come back as non-retryable application errors.
func activityCtx(ctx workflow.Context, s PlanStep) workflow.Context {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = time.Hour
	}
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           s.Queue,
		StartToCloseTimeout: timeout,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
}

// step executes one plan step.
func (r *runner) step(ctx workflow.Context, s PlanStep) error {
	ref := r.in.Ref
	if !s.ForEach || s.Cheap {
		if s.Cheap {
			return workflow.ExecuteLocalActivity(localCtx(ctx), acts.RunStep, ref, s.ID).Get(ctx, nil)
		}
		return workflow.ExecuteActivity(activityCtx(ctx, s), acts.RunStep, ref, s.ID).Get(ctx, nil)
	}
	var plan engine.StepPlan
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.Prepare, ref, s.ID).Get(ctx, &plan); err != nil {
		return err
	}
	if plan.Done || plan.Skipped || plan.Failed {
		return nil
	}
	stopped := r.items(ctx, s, plan.Items)
	return workflow.ExecuteLocalActivity(localCtx(ctx), acts.Finish, ref, s.ID, plan.Items, stopped).Get(ctx, nil)
}

// items schedules one activity per batch: group of the step's items (N items, batch B:
// ⌈N/B⌉ activities), at most r.par pending at once. It stops scheduling once the budget
// is spent or an item failed (unless the step continues on error) and says why.
func (r *runner) items(ctx workflow.Context, s PlanStep, total int) (stopped string) {
	groups := Groups(total, s.Batch)
	sel := workflow.NewSelector(ctx)
	pending := 0
	var machineryErr error
	failed := false
	wait := func() {
		sel.Select(ctx)
		pending--
	}
	for _, g := range groups {
		for pending >= r.par {
			wait()
		}
		if machineryErr != nil || failed && !s.ContinueOnError {
			break
		}
		if r.in.BudgetUSD > 0 && r.spent >= r.in.BudgetUSD {
			stopped = fmt.Sprintf("not run: the budget of $%g was spent", r.in.BudgetUSD)
			break
		}
		f := workflow.ExecuteActivity(activityCtx(ctx, s), acts.ExecItems, r.in.Ref, s.ID, g)
		pending++
		sel.AddFuture(f, func(f workflow.Future) {
			var sum engine.ItemsSummary
			if err := f.Get(ctx, &sum); err != nil {
				if machineryErr == nil {
					machineryErr = err
				}
				return
			}
			r.spent += sum.Usage.USD
			if sum.Error != "" {
				failed = true
			}
		})
	}
	for pending > 0 {
		wait()
	}
	if machineryErr != nil && stopped == "" {
		stopped = "not run: " + machineryErr.Error()
	}
	return stopped
}

// Groups splits n items into consecutive groups of size (at least 1).
func Groups(n, size int) [][]int {
	size = max(size, 1)
	out := make([][]int, 0, (n+size-1)/size)
	for i := 0; i < n; i += size {
		g := make([]int, 0, min(size, n-i))
		for j := i; j < n && j < i+size; j++ {
			g = append(g, j)
		}
		out = append(out, g)
	}
	return out
}
