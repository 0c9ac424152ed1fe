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
// workflow walks a plan. A change adds a version and keeps the old branch, so runs in
// flight replay as they were recorded:
//
//   - 1: the first interpreter; the budget is checked against what items paid.
//   - 2: each item activity's estimated cost is reserved against the budget before it
//     is scheduled; big fan-outs run in child workflows.
const interpreterChange = "aiflow-interpreter"

// interpreterVersion is the newest interpreter.
const interpreterVersion = 2

// maxInFlight bounds the item activities of one step pending at once, well below
// Temporal's limit of 2,000 pending activities per workflow.
const maxInFlight = 500

// ItemsWorkflowName is the workflow type of the child workflows a big fan-out's slices
// run in.
const ItemsWorkflowName = "aiflow.Items"

// DefaultChildActivities is the most item activities one workflow schedules for a step
// (from interpreter version 2): a step with more runs them in child workflows of at
// most this many each, so no history nears Temporal's limit of 51,200 events.
const DefaultChildActivities = 1000

// Workflow runs one flow: it walks the plan in dependency order, each step in its own
// workflow goroutine, and leaves all flow semantics (when:, for_each, cache, routing,
// records, outputs) to activities built on engine.Session. It returns the run's result;
// a run whose steps failed returns its result too (status failed), and an error only
// when the machinery failed.
func Workflow(ctx workflow.Context, in Input) (*Outcome, error) {
	v := workflow.GetVersion(ctx, interpreterChange, workflow.DefaultVersion, interpreterVersion)
	if v == workflow.DefaultVersion {
		return nil, fmt.Errorf("run %s: recorded by an interpreter this worker does not have", in.Ref.RunID)
	}
	if err := workflow.SetQueryHandler(ctx, QueryBundle, func() ([]byte, error) { return in.Bundle, nil }); err != nil {
		return nil, fmt.Errorf("run %s: %w", in.Ref.RunID, err)
	}
	r := &runner{in: in, version: v, done: map[string]workflow.Future{}, par: in.Parallelism, seen: map[string]float64{}}
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
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.FinishRun, localRef(in)).Get(ctx, &out); err != nil {
		return nil, fmt.Errorf("finishing run: %w", err)
	}
	return &out, nil
}

type runner struct {
	in      Input
	version workflow.Version
	done    map[string]workflow.Future
	par     int
	spent   float64 // USD paid by item activities so far, as they reported
	// reserved is the estimated cost of the item activities in flight (version 2):
	// spent + reserved never exceeds the budget. releases counts the reservations
	// released, for a step waiting for one.
	reserved float64
	releases int
	// seen is the dearest item paid so far per model, for estimating the next items of
	// a model the catalogue cannot price, as the local engine does.
	seen map[string]float64
	// In a child workflow, base is what the run had spent or committed when the child
	// started and shown the run's budget, for refusals to name the run's figures.
	base, shown float64
}

// localRef is the run's Ref with its bundle inline, for local activities: they run on
// the workflow's worker, and their inputs are not recorded in history.
func localRef(in Input) Ref {
	ref := in.Ref
	ref.Inline = in.Bundle
	return ref
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
			return workflow.ExecuteLocalActivity(localCtx(ctx), acts.RunStep, localRef(r.in), s.ID).Get(ctx, nil)
		}
		return workflow.ExecuteActivity(activityCtx(ctx, s), acts.RunStep, ref, s.ID).Get(ctx, nil)
	}
	var plan engine.StepPlan
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), acts.Prepare, localRef(r.in), s.ID).Get(ctx, &plan); err != nil {
		return err
	}
	if plan.Done || plan.Skipped || plan.Failed {
		return nil
	}
	stopped := r.items(ctx, s, plan)
	return workflow.ExecuteLocalActivity(localCtx(ctx), acts.Finish, localRef(r.in), s.ID, plan.Items, stopped).Get(ctx, nil)
}

// items schedules one activity per batch: group of the step's items (N items, batch B:
// ⌈N/B⌉ activities), at most r.par pending at once. It stops scheduling once the budget
// is spent or an item failed (unless the step continues on error) and says why.
//
// From version 2 on, each group's estimated cost is reserved against the run's budget
// before its activity is scheduled and released when the activity reports what it paid;
// a group that would take spent + reserved past the budget waits for activities in
// flight to settle, and is not scheduled when it would not fit even then. However many
// workers execute the activities, the run never commits more than its budget.
func (r *runner) items(ctx workflow.Context, s PlanStep, plan engine.StepPlan) (stopped string) {
	groups := Groups(plan.Items, s.Batch)
	limit := r.in.ChildActivities
	if limit <= 0 {
		limit = DefaultChildActivities
	}
	if r.version >= 2 && len(groups) > limit {
		return r.children(ctx, s, plan, len(groups), limit)
	}
	stopped, _ = r.runGroups(ctx, s, plan, groups)
	return stopped
}

// runGroups schedules the activities of groups (see items) and reports why it stopped
// early, if it did, and whether an item failed.
func (r *runner) runGroups(ctx workflow.Context, s PlanStep, plan engine.StepPlan, groups [][]int) (stopped string, failed bool) {
	sel := workflow.NewSelector(ctx)
	pending := 0
	var machineryErr error
	wait := func() {
		sel.Select(ctx)
		pending--
	}
	reserving := r.version >= 2 && r.in.BudgetUSD > 0
	halt := func() bool { return machineryErr != nil || failed && !s.ContinueOnError }
	for _, g := range groups {
		for pending >= r.par {
			wait()
		}
		if halt() {
			break
		}
		est := 0.0
		if reserving {
			var refused *engine.BudgetError
			est, refused = r.reserve(ctx, plan, len(g), &pending, wait)
			if halt() {
				if refused == nil {
					r.release(est)
				}
				break
			}
			if refused != nil {
				stopped = "not run: " + refused.Error()
				break
			}
		} else if r.in.BudgetUSD > 0 && r.spent >= r.in.BudgetUSD {
			stopped = fmt.Sprintf("not run: the budget of $%g was spent", r.in.BudgetUSD)
			break
		}
		f := workflow.ExecuteActivity(activityCtx(ctx, s), acts.ExecItems, r.in.Ref, s.ID, g)
		pending++
		sel.AddFuture(f, func(f workflow.Future) {
			var sum engine.ItemsSummary
			err := f.Get(ctx, &sum)
			if reserving {
				r.release(est)
			}
			if err != nil {
				if machineryErr == nil {
					machineryErr = err
				}
				return
			}
			r.spent += sum.Usage.USD
			if plan.Model != "" && sum.Done > sum.Cached {
				if d, ok := r.seen[plan.Model]; !ok || sum.DearestUSD > d {
					r.seen[plan.Model] = sum.DearestUSD
				}
			}
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
	return stopped, failed
}

// ItemsInput is a child workflow's argument: groups [From, To) of a fan-out step's
// items, with the share of the run's budget reserved for them.
type ItemsInput struct {
	Ref  Ref             `json:"ref"`
	Step PlanStep        `json:"step"`
	Plan engine.StepPlan `json:"plan"`
	From int             `json:"from"`
	To   int             `json:"to"`
	// AllowanceUSD is what the slice may commit (0: the run has no budget); SpentUSD
	// and BudgetUSD are the run's figures when the child started, for its messages.
	AllowanceUSD float64            `json:"allowance_usd,omitempty"`
	SpentUSD     float64            `json:"spent_usd,omitempty"`
	BudgetUSD    float64            `json:"budget_usd,omitempty"`
	Seen         map[string]float64 `json:"seen,omitempty"`
	Parallelism  int                `json:"parallelism,omitempty"`
}

// ItemsOutcome is a child workflow's summary; the items' outputs are in the run store.
type ItemsOutcome struct {
	SpentUSD float64            `json:"spent_usd"`
	Failed   bool               `json:"failed,omitempty"`
	Stopped  string             `json:"stopped,omitempty"`
	Seen     map[string]float64 `json:"seen,omitempty"`
}

// ItemsWorkflow runs one slice of a big fan-out as a child of the run's workflow, with
// the parent's semantics: at most Parallelism activities in flight, each group's
// estimate reserved against the slice's allowance before it is scheduled.
func ItemsWorkflow(ctx workflow.Context, in ItemsInput) (ItemsOutcome, error) {
	r := &runner{in: Input{Ref: in.Ref, BudgetUSD: in.AllowanceUSD, Parallelism: in.Parallelism}, version: interpreterVersion,
		par: in.Parallelism, seen: map[string]float64{}, base: in.SpentUSD, shown: in.BudgetUSD}
	if r.par <= 0 || r.par > maxInFlight {
		r.par = maxInFlight
	}
	for k, v := range in.Seen {
		r.seen[k] = v
	}
	groups := Groups(in.Plan.Items, in.Step.Batch)
	if in.From < 0 || in.To > len(groups) || in.From > in.To {
		return ItemsOutcome{}, fmt.Errorf("step %q: no groups [%d, %d) of %d", in.Step.ID, in.From, in.To, len(groups))
	}
	stopped, failed := r.runGroups(ctx, in.Step, in.Plan, groups[in.From:in.To])
	return ItemsOutcome{SpentUSD: r.spent, Failed: failed, Stopped: stopped, Seen: r.seen}, nil
}

// children runs a step's n groups in child workflows of at most limit groups each, one
// after another (each keeps up to r.par activities in flight). Before starting one, the
// parent reserves the slice's estimate (at most what is left of the budget) and gives
// it as the child's allowance; the child's real cost replaces it when it returns.
func (r *runner) children(ctx workflow.Context, s PlanStep, plan engine.StepPlan, n, limit int) (stopped string) {
	for from := 0; from < n; from += limit {
		to := min(from+limit, n)
		in := ItemsInput{Ref: r.in.Ref, Step: s, Plan: plan, From: from, To: to, Parallelism: r.par, Seen: r.seen}
		in.Ref.Inline = nil
		if r.in.BudgetUSD > 0 {
			items := min(to*max(s.Batch, 1), plan.Items) - from*max(s.Batch, 1)
			first := r.itemUSD(plan) * float64(min(max(s.Batch, 1), items))
			left := r.in.BudgetUSD - r.spent - r.reserved
			if first > left {
				return "not run: " + (&engine.BudgetError{Model: plan.Model, Estimate: first, Spent: r.spent + r.reserved, Budget: r.in.BudgetUSD, Basis: plan.Basis}).Error()
			}
			in.AllowanceUSD = min(r.itemUSD(plan)*float64(items), left)
			in.SpentUSD, in.BudgetUSD = r.spent+r.reserved, r.in.BudgetUSD
			r.reserved += in.AllowanceUSD
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: fmt.Sprintf("%s-%s-%d", WorkflowID(r.in.Ref.RunID), s.ID, from),
		})
		var out ItemsOutcome
		err := workflow.ExecuteChildWorkflow(cctx, ItemsWorkflowName, in).Get(ctx, &out)
		if in.AllowanceUSD > 0 {
			r.release(in.AllowanceUSD)
		}
		r.spent += out.SpentUSD
		for k, v := range out.Seen {
			r.seen[k] = max(r.seen[k], v)
		}
		switch {
		case err != nil:
			return "not run: " + err.Error()
		case out.Stopped != "":
			return out.Stopped
		case out.Failed && !s.ContinueOnError:
			return ""
		}
	}
	return ""
}

// itemUSD is the estimate of one item of plan's step: the catalogue's (or, for a model
// it cannot price, the dearest model's until an item of it was paid) raised to the
// dearest item paid so far, as the local engine's budget estimates a call.
func (r *runner) itemUSD(plan engine.StepPlan) float64 {
	d, ok := r.seen[plan.Model]
	switch {
	case !ok:
		return plan.ItemUSD
	case plan.Priced:
		return max(plan.ItemUSD, d)
	default:
		return d
	}
}

// reserve reserves the estimated cost of n items of plan's step against the budget. While
// they would fit only once activities in flight have settled, it waits for one to report
// (this step's through wait, another step's through the release count); it returns the
// refusal when they would not fit even then.
func (r *runner) reserve(ctx workflow.Context, plan engine.StepPlan, n int, pending *int, wait func()) (float64, *engine.BudgetError) {
	for {
		est := r.itemUSD(plan) * float64(n)
		if r.spent+r.reserved+est <= r.in.BudgetUSD {
			r.reserved += est
			return est, nil
		}
		if r.spent+est > r.in.BudgetUSD || r.reserved <= 0 {
			return 0, r.refusal(plan, est)
		}
		if *pending > 0 {
			wait()
			continue
		}
		gen := r.releases
		if err := workflow.Await(ctx, func() bool { return r.releases != gen }); err != nil {
			return 0, r.refusal(plan, est)
		}
	}
}

// refusal is the budget's refusal of est, in the run's figures.
func (r *runner) refusal(plan engine.StepPlan, est float64) *engine.BudgetError {
	budget := r.in.BudgetUSD
	if r.shown > 0 {
		budget = r.shown
	}
	return &engine.BudgetError{Model: plan.Model, Estimate: est, Spent: r.base + r.spent + r.reserved, Budget: budget, Basis: plan.Basis}
}

// release returns a settled activity's reservation.
func (r *runner) release(est float64) {
	r.reserved = max(r.reserved-est, 0)
	r.releases++
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
