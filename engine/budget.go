package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/steps"
)

// BudgetError is a call refused because its estimated cost would take the run past its
// budget. A route moves to its next model on it; otherwise the step fails before paying.
type BudgetError struct {
	Model    string
	Estimate float64
	Spent    float64
	Budget   float64
	// Basis says how an unpriced model's estimate was made, "" for a catalogue price.
	Basis string
	// Shared is set when the refusing budget is a SharedBudget (a dataset's), not the
	// run's own.
	Shared bool
}

func (e *BudgetError) Error() string {
	which := "budget"
	if e.Shared {
		which = "budget shared by the dataset's rows"
	}
	msg := fmt.Sprintf("budget: calling %s would cost about $%.6f, and $%.6f of the $%.6f %s is spent or committed",
		e.Model, e.Estimate, e.Spent, e.Budget, which)
	if e.Basis != "" {
		msg += " (" + e.Basis + ")"
	}
	return msg
}

// canFallBack reports whether a route may move to its next model after err: retryable
// and quota provider errors, and calls the budget refused.
func canFallBack(err error) bool {
	var be *BudgetError
	return providers.ShouldFallback(err) || errors.As(err, &be)
}

// budget returns the run's budget in USD, 0 for none.
func (w *walker) budget() float64 {
	if w.opts.BudgetUSD > 0 {
		return w.opts.BudgetUSD
	}
	if b := w.fl.Spec.Budget; b != nil {
		return b.USD
	}
	return 0
}

// reserve commits the estimated cost of calls (one call, or a batch sent together)
// against the budget of this run and of every run it is a sub-flow of, or refuses them
// all. The returned func releases the reservations once the calls' real usage has been
// added.
func (w *walker) reserve(n *Node, calls ...*steps.Call) (func(), error) {
	if len(calls) == 0 || calls[0].Model == nil || !w.budgeted() {
		return func() {}, nil
	}
	for {
		est, basis := w.estimate(n, calls)
		release, err := w.commit(calls[0].Model.Ref(), est, basis)
		var wait *budgetWait
		if !errors.As(err, &wait) {
			return release, err
		}
		// The calls would fit once the calls in flight have settled (they may cost less
		// than reserved, and a model's first call teaches its real cost): wait for one
		// to release its reservation, then estimate again.
		unblock := w.sched.block() // another step may run while this one waits
		ok := wait.at.awaitRelease(w.ctx, wait.gen)
		unblock()
		if !ok {
			return nil, wait.BudgetError
		}
	}
}

// estimate is the budget's estimate of calls sent together, with how an unpriced
// model's was made.
func (w *walker) estimate(n *Node, calls []*steps.Call) (est float64, basis string) {
	ref := calls[0].Model.Ref()
	seen, paid := w.observedUSD(ref)
	for _, call := range calls {
		e := estimateCall(n.Kind.Task, call)
		e.USD *= w.fl.batchPrice(n, call.Model)
		switch {
		case e.Priced:
			est += max(e.USD, seen)
		case paid:
			// A model the catalogue cannot price is estimated by its dearest call so far.
			est += seen
		default:
			// and, before any call of it was paid, as the dearest model of its task
			// would cost, so its first calls cannot overshoot the budget.
			usd, dearest := dearestEstimate(n.Kind.Task, e)
			est += usd
			if dearest != "" {
				basis = fmt.Sprintf("%s has no catalogue price: until a call of it is paid, a call is estimated as on %s, the dearest %s model in the catalogue; raise the budget, or use a catalogued model", ref, dearest, n.Kind.Task)
			}
		}
	}
	return est, basis
}

// budgetWait is a refusal that only the reservations of calls in flight cause: the
// call would fit the spend so far. gen is the run's release count at the refusal.
type budgetWait struct {
	*BudgetError
	at  *reservations
	gen uint64
}

// reservations are the estimated costs of the calls in flight against one budget (a
// run's own, or a SharedBudget), and how many have been released, so that a call refused
// only because of them can wait for one to settle. The budget's lock guards them.
type reservations struct {
	mu       *sync.Mutex
	cond     *sync.Cond
	reserved float64
	releases uint64
}

func newReservations(mu *sync.Mutex) reservations {
	return reservations{mu: mu, cond: sync.NewCond(mu)}
}

// take reserves est against limit, of which spent is paid, or refuses with be filled in:
// as a *budgetWait when the call would fit once the calls in flight have settled. The
// caller holds the lock; the returned release takes it.
func (r *reservations) take(spent, est, limit float64, be *BudgetError) (release func(), err error) {
	if spent+r.reserved+est > limit {
		be.Estimate, be.Spent, be.Budget = est, spent+r.reserved, limit
		if r.reserved > 0 && spent+est <= limit {
			return nil, &budgetWait{BudgetError: be, at: r, gen: r.releases}
		}
		return nil, be
	}
	r.reserved += est
	return func() {
		r.mu.Lock()
		r.reserved -= est
		r.releases++
		r.cond.Broadcast()
		r.mu.Unlock()
	}, nil
}

// awaitRelease waits until a reservation is released after generation gen, or ctx ends
// (false).
func (r *reservations) awaitRelease(ctx context.Context, gen uint64) bool {
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.releases == gen && ctx.Err() == nil {
		r.cond.Wait()
	}
	return ctx.Err() == nil
}

// dearestEstimate prices the tokens of e on the dearest priced catalogue model of task,
// and names that model ("" when the catalogue prices none).
func dearestEstimate(task providers.Task, e Estimate) (float64, string) {
	usd, name := 0.0, ""
	for _, m := range catalog.All() {
		if m.Task != task || m.Free || !m.TokenPriced() {
			continue
		}
		if c, _ := m.Cost(e.InputTokens, e.OutputTokens); c > usd || name == "" {
			usd, name = max(c, usd), m.Provider+":"+m.ID
		}
	}
	return usd, name
}

// budgeted reports whether this run or a run it is a sub-flow of has a budget.
func (w *walker) budgeted() bool {
	for r := w; r != nil; r = r.opts.parent {
		if r.budget() > 0 || r.opts.SharedBudget != nil {
			return true
		}
	}
	return false
}

// commit reserves est against this run's budget, then the one above it, releasing what
// it took when one refuses.
func (w *walker) commit(ref string, est float64, basis string) (func(), error) {
	release := func() {}
	if b := w.budget(); b > 0 {
		w.mu.Lock()
		r, err := w.resv.take(w.usage.USD, est, b, &BudgetError{Model: ref, Basis: basis})
		w.mu.Unlock()
		if err != nil {
			return nil, err
		}
		release = r
	}
	// Then the budget above this run's: its parent's (a sub-flow), or the one it shares
	// with other runs (at the root of a sub-flow chain).
	var above func(ref string, est float64, basis string) (func(), error)
	switch {
	case w.opts.parent != nil:
		above = w.opts.parent.commit
	case w.opts.SharedBudget != nil:
		above = w.opts.SharedBudget.commit
	default:
		return release, nil
	}
	up, err := above(ref, est, basis)
	if err != nil {
		release()
		return nil, err
	}
	return func() { up(); release() }, nil
}

// observedUSD is the dearest call of model ref seen by this run or the runs it is a
// sub-flow of, and whether any call of it was paid (or succeeded, at whatever cost).
func (w *walker) observedUSD(ref string) (usd float64, seen bool) {
	for r := w; r != nil; r = r.opts.parent {
		r.mu.Lock()
		v, ok := r.observed[ref]
		r.mu.Unlock()
		usd, seen = max(usd, v), seen || ok
	}
	return usd, seen
}

// observe remembers the dearest call of a model, for estimating the next ones. A call
// that succeeded counts at any cost, $0 included (a model that costs nothing is then
// estimated so); one that failed counts only if it was paid for.
func (w *walker) observe(call *steps.Call, usd float64, ok bool) {
	if call.Model != nil && (ok || usd > 0) {
		w.observeRef(call.Model.Ref(), usd)
	}
}

func (w *walker) observeRef(ref string, usd float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.observed == nil {
		w.observed = map[string]float64{}
	}
	w.observed[ref] = max(w.observed[ref], usd)
}

// observeRecords seeds the dearest-call estimates from a resumed run's step records, so
// the resume estimates a model the catalogue cannot price as the first process had
// learned to. A for_each step's whole-step record sums its items and is left out.
func (w *walker) observeRecords(recs []store.StepRecord) {
	for _, r := range recs {
		if r.Model == "" || (r.Usage.USD <= 0 && r.Status != StatusSucceeded) {
			continue
		}
		if n := w.fl.Nodes[r.StepID]; r.Item == store.WholeStep && (n == nil || n.ForEach != nil) {
			continue
		}
		w.observeRef(r.Model, r.Usage.USD)
	}
}

// budgetLeft is what route conditions see as budget.left: the least left of this run's
// budget and those of the runs it is a sub-flow of (nil without any budget).
func (w *walker) budgetLeft() any {
	var left any
	for r := w; r != nil; r = r.opts.parent {
		b := r.budget()
		if b <= 0 {
			continue
		}
		r.mu.Lock()
		l := b - r.usage.USD - r.resv.reserved
		r.mu.Unlock()
		if cur, ok := left.(float64); !ok || l < cur {
			left = l
		}
	}
	if root := w.root(); root.opts.SharedBudget != nil {
		l := root.opts.SharedBudget.left()
		if cur, ok := left.(float64); !ok || l < cur {
			left = l
		}
	}
	return left
}

// root is the run this one is a sub-flow of, at any depth, or w itself.
func (w *walker) root() *walker {
	for w.opts.parent != nil {
		w = w.opts.parent
	}
	return w
}

// SharedBudget is a budget in USD drawn on by several runs at once, such as the rows of
// a dataset run: each call reserves its estimate against it before it is sent and the
// real cost replaces the estimate afterwards, exactly as a run's own budget works, so
// the runs together never commit more than it. Safe for concurrent use.
type SharedBudget struct {
	limit float64
	mu    sync.Mutex
	spent float64
	res   reservations
}

// NewSharedBudget returns a budget of usd (> 0) for runs to share.
func NewSharedBudget(usd float64) *SharedBudget {
	b := &SharedBudget{limit: usd}
	b.res = newReservations(&b.mu)
	return b
}

// Limit is the budget in USD.
func (b *SharedBudget) Limit() float64 { return b.limit }

// Spent is what the runs sharing the budget have paid so far.
func (b *SharedBudget) Spent() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spent
}

func (b *SharedBudget) left() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limit - b.spent - b.res.reserved
}

func (b *SharedBudget) add(usd float64) {
	b.mu.Lock()
	b.spent += usd
	b.mu.Unlock()
}

// commit reserves est, or refuses.
func (b *SharedBudget) commit(ref string, est float64, basis string) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.res.take(b.spent, est, b.limit, &BudgetError{Model: ref, Basis: basis, Shared: true})
}
