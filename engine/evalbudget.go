package engine

import (
	"context"

	"github.com/expr-lang/expr"

	"github.com/aiflow/aiflow/internal/exprguard"
)

// Evaluation bounds (see exprguard): every compiled expression is patched so each loop
// iteration and each + - * goes through the evaluation's budget, which also watches the
// context, so a timeout or Ctrl-C stops it within a few thousand operations.
const (
	// MaxEvalSteps bounds loop iterations (map, filter, reduce, …) plus + - * operations
	// in one evaluation of a flow value: about half a second of work (BenchmarkExprLoop).
	MaxEvalSteps = exprguard.MaxSteps
	// MaxEvalBytes bounds the bytes of strings built by + and read by file() in one
	// evaluation of a flow value.
	MaxEvalBytes = exprguard.MaxBytes
)

// Names the engine's budgeted functions go by. They contain a space, so no expression
// can write them.
const (
	evalKey   = exprguard.BudgetKey // scope entry holding the *exprguard.Budget
	fnFile    = "aiflow file"
	fnJoin    = "aiflow join"
	fnReplace = "aiflow replace"
)

// ErrEvalBudget is the cause of an evaluation stopped for doing too much work.
var ErrEvalBudget = exprguard.ErrBudget

type evalBudget = exprguard.Budget

func newEvalBudget(ctx context.Context) *evalBudget { return exprguard.NewBudget(ctx) }

// evalContext is the context a step's expressions are evaluated in: the run's, ended
// early by the step's timeout: (or the flow's default) with a TimeoutError as its cause.
func (w *walker) evalContext(n *Node) (context.Context, context.CancelFunc) {
	if t := w.policy(n).timeout; t > 0 {
		return context.WithTimeoutCause(w.ctx, t, &TimeoutError{After: t})
	}
	return w.ctx, func() {}
}

func budgetOf(v any) *evalBudget { return exprguard.BudgetOf(v) }

// budgetPatch counts an expression's work (exprguard.Patch); file(), join() and
// replace() also charge what they read or build.
var budgetPatch = exprguard.Patch{Budgeted: map[string]string{"file": fnFile, "join": fnJoin, "replace": fnReplace}}

// budgetOptions register the functions the budget patch calls (but not the patch).
func budgetOptions() []expr.Option { return exprguard.Options() }

func toInt64(v any) (int64, bool) { return exprguard.ToInt64(v) }
