package engine

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// Evaluation bounds. expr-lang has no context and charges only some allocations to its
// memory budget, so `reduce(1..100000, #acc + "xxxxxxxxxx", "")` (quadratic string
// building) or two nested loops over a large list could run for minutes past a step's
// timeout, and hang plan. Every compiled expression is therefore patched: each loop
// iteration and each + - * goes through the evaluation's budget, which also watches the
// context, so a timeout or Ctrl-C stops it within a few thousand operations.
const (
	// MaxEvalSteps bounds loop iterations (map, filter, reduce, …) plus + - * operations
	// in one evaluation of a flow value: about half a second of work (BenchmarkExprLoop).
	MaxEvalSteps = 4_000_000
	// MaxEvalBytes bounds the bytes of strings built by + and read by file() in one
	// evaluation of a flow value.
	MaxEvalBytes = 256 << 20
	// checkEvery is how many steps pass between two looks at the context.
	checkEvery = 1024
)

// Names the patch introduces. They contain a space, so no expression can write them.
const (
	evalKey   = "aiflow eval" // scope entry holding the *evalBudget
	fnStep    = "aiflow step"
	fnAdd     = "aiflow +"
	fnSub     = "aiflow -"
	fnMul     = "aiflow *"
	fnFile    = "aiflow file"
	fnJoin    = "aiflow join"
	fnReplace = "aiflow replace"
	maxShown  = 40 // digits of an operand quoted in an overflow error
)

// ErrEvalBudget is the cause of an evaluation stopped for doing too much work.
var ErrEvalBudget = errors.New("expression does too much work")

// evalBudget is one evaluation's running count, reached through the scope entry evalKey.
type evalBudget struct {
	ctx   context.Context
	done  <-chan struct{}
	steps int
	bytes int
}

func newEvalBudget(ctx context.Context) *evalBudget {
	return &evalBudget{ctx: ctx, done: ctx.Done()}
}

// step counts one unit of work and looks at the context every checkEvery units.
func (b *evalBudget) step() error {
	b.steps++
	if b.steps > MaxEvalSteps {
		return fmt.Errorf("%w: more than %d loop iterations and arithmetic operations", ErrEvalBudget, MaxEvalSteps)
	}
	if b.steps%checkEvery == 0 {
		return b.alive()
	}
	return nil
}

// grow counts n bytes of strings built or read.
func (b *evalBudget) grow(n int) error {
	b.bytes += n
	if b.bytes > MaxEvalBytes {
		return fmt.Errorf("%w: builds more than %d MiB of text", ErrEvalBudget, MaxEvalBytes>>20)
	}
	return b.alive()
}

func (b *evalBudget) alive() error {
	if b.done == nil {
		return nil
	}
	select {
	case <-b.done:
		return fmt.Errorf("evaluation stopped: %w", context.Cause(b.ctx))
	default:
		return nil
	}
}

// evalContext is the context a step's expressions are evaluated in: the run's, ended
// early by the step's timeout: (or the flow's default) with a TimeoutError as its cause.
func (w *walker) evalContext(n *Node) (context.Context, context.CancelFunc) {
	if t := w.policy(n).timeout; t > 0 {
		return context.WithTimeoutCause(w.ctx, t, &TimeoutError{After: t})
	}
	return w.ctx, func() {}
}

func budgetOf(v any) *evalBudget {
	if b, ok := v.(*evalBudget); ok && b != nil {
		return b
	}
	// An evaluation without a budget in scope (a program run outside Template.Eval)
	// still gets a fresh, background one.
	return newEvalBudget(context.Background())
}

// budgeted maps the functions that read or build large strings to their variants that
// take the budget first.
var budgeted = map[string]string{"file": fnFile, "join": fnJoin, "replace": fnReplace}

// budgetPatch rewrites a checked expression tree so its work is counted: predicate
// bodies become fnStep(budget, body), a + b, a - b, a * b become checked calls, and
// file(), join() and replace() charge what they read or build.
type budgetPatch struct{}

func (budgetPatch) Visit(node *ast.Node) {
	budget := func() ast.Node { return &ast.IdentifierNode{Value: evalKey} }
	switch n := (*node).(type) {
	case *ast.PredicateNode:
		n.Node = &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnStep}, Arguments: []ast.Node{budget(), n.Node}}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		if fn := budgeted[id.Value]; fn != "" {
			ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: append([]ast.Node{budget()}, n.Arguments...)})
		}
	case *ast.BinaryNode:
		fn := map[string]string{"+": fnAdd, "-": fnSub, "*": fnMul}[n.Operator]
		if fn == "" {
			return
		}
		call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: []ast.Node{budget(), n.Left, n.Right}}
		ast.Patch(node, call)
	}
}

// budgetOptions register the functions the budget patch calls (but not the patch).
func budgetOptions() []expr.Option {
	return []expr.Option{
		expr.Function(fnStep, func(args ...any) (any, error) {
			if err := budgetOf(args[0]).step(); err != nil {
				return nil, err
			}
			return args[1], nil
		}),
		expr.Function(fnAdd, func(args ...any) (any, error) { return arith(args, "+", add64) }),
		expr.Function(fnSub, func(args ...any) (any, error) { return arith(args, "-", sub64) }),
		expr.Function(fnMul, func(args ...any) (any, error) { return arith(args, "*", mul64) }),
	}
}

// arith applies op to args[1] and args[2] with expr-lang's semantics, except that
// integer overflow is an error and string concatenation is charged to the budget.
func arith(args []any, op string, checked func(a, b int64) (int64, bool)) (any, error) {
	b, x, y := budgetOf(args[0]), args[1], args[2]
	if err := b.step(); err != nil {
		return nil, err
	}
	if xi, ok := toInt64(x); ok {
		if yi, ok := toInt64(y); ok {
			if _, ok := checked(xi, yi); !ok {
				return nil, fmt.Errorf("integer overflow: %s %s %s does not fit in 64 bits", clipNum(xi), op, clipNum(yi))
			}
		}
	}
	if op == "+" {
		if xs, ok := x.(string); ok {
			if ys, ok := y.(string); ok {
				if err := b.grow(len(xs) + len(ys)); err != nil {
					return nil, err
				}
				return xs + ys, nil
			}
		}
		return runtime.Add(x, y), nil
	}
	if op == "-" {
		return runtime.Subtract(x, y), nil
	}
	return runtime.Multiply(x, y), nil
}

func clipNum(n int64) string {
	s := fmt.Sprint(n)
	if len(s) > maxShown {
		s = s[:maxShown] + "…"
	}
	return s
}

// toInt64 converts the integer types expr-lang's arithmetic accepts (it computes them
// as int); durations and other named types are left to expr-lang.
func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), true
	}
	return 0, false
}

func add64(a, b int64) (int64, bool) {
	s := a + b
	return s, (s > a) == (b > 0)
}

func sub64(a, b int64) (int64, bool) {
	s := a - b
	return s, (s < a) == (b > 0)
}

func mul64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	p := a * b
	if (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) || p/b != a {
		return p, false
	}
	return p, true
}
