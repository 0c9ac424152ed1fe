package engine

import (
	"errors"
	"fmt"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

// BudgetError is a call refused because its estimated cost would take the run past its
// budget. A route moves to its next model on it; otherwise the step fails before paying.
type BudgetError struct {
	Model    string
	Estimate float64
	Spent    float64
	Budget   float64
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("budget: calling %s would cost about $%.6f, and $%.6f of the $%.6f budget is spent or committed",
		e.Model, e.Estimate, e.Spent, e.Budget)
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
	ref := calls[0].Model.Ref()
	seen := w.observedUSD(ref)
	est := 0.0
	for _, call := range calls {
		// Models the catalogue cannot price are estimated by their dearest call so far.
		est += max(estimateCall(n.Kind.Task, call).USD, seen)
	}
	return w.commit(ref, est)
}

// budgeted reports whether this run or a run it is a sub-flow of has a budget.
func (w *walker) budgeted() bool {
	for r := w; r != nil; r = r.opts.parent {
		if r.budget() > 0 {
			return true
		}
	}
	return false
}

// commit reserves est against this run's budget, then its parent's, releasing what it
// took when one refuses.
func (w *walker) commit(ref string, est float64) (func(), error) {
	release := func() {}
	if b := w.budget(); b > 0 {
		w.mu.Lock()
		if w.usage.USD+w.reserved+est > b {
			err := &BudgetError{Model: ref, Estimate: est, Spent: w.usage.USD + w.reserved, Budget: b}
			w.mu.Unlock()
			return nil, err
		}
		w.reserved += est
		w.mu.Unlock()
		release = func() {
			w.mu.Lock()
			w.reserved -= est
			w.mu.Unlock()
		}
	}
	if w.opts.parent == nil {
		return release, nil
	}
	up, err := w.opts.parent.commit(ref, est)
	if err != nil {
		release()
		return nil, err
	}
	return func() { up(); release() }, nil
}

// observedUSD is the dearest call of model ref seen by this run or the runs it is a
// sub-flow of.
func (w *walker) observedUSD(ref string) float64 {
	usd := 0.0
	for r := w; r != nil; r = r.opts.parent {
		r.mu.Lock()
		usd = max(usd, r.observed[ref])
		r.mu.Unlock()
	}
	return usd
}

// observe remembers the dearest call of a model, for estimating the next ones.
func (w *walker) observe(call *steps.Call, usd float64) {
	if call.Model != nil {
		w.observeRef(call.Model.Ref(), usd)
	}
}

func (w *walker) observeRef(ref string, usd float64) {
	if usd <= 0 {
		return
	}
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
		if r.Model == "" || r.Usage.USD <= 0 {
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
		l := b - r.usage.USD - r.reserved
		r.mu.Unlock()
		if cur, ok := left.(float64); !ok || l < cur {
			left = l
		}
	}
	return left
}
