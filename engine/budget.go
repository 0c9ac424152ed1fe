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
// against the budget, or refuses them all. The returned func releases the reservation once
// the calls' real usage has been added.
func (w *walker) reserve(n *Node, calls ...*steps.Call) (func(), error) {
	b := w.budget()
	if b <= 0 || len(calls) == 0 || calls[0].Model == nil {
		return func() {}, nil
	}
	ref := calls[0].Model.Ref()
	w.mu.Lock()
	defer w.mu.Unlock()
	est := 0.0
	for _, call := range calls {
		// Models the catalogue cannot price are estimated by their dearest call so far.
		est += max(estimateCall(n.Kind.Task, call).USD, w.observed[ref])
	}
	if w.usage.USD+w.reserved+est > b {
		return nil, &BudgetError{Model: ref, Estimate: est, Spent: w.usage.USD + w.reserved, Budget: b}
	}
	w.reserved += est
	return func() {
		w.mu.Lock()
		w.reserved -= est
		w.mu.Unlock()
	}, nil
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

// budgetLeft is what route conditions see as budget.left (nil without a budget).
func (w *walker) budgetLeft() any {
	b := w.budget()
	if b <= 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return b - w.usage.USD - w.reserved
}
