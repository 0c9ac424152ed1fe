package exprguard

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"
)

// Evaluation bounds. expr-lang has no context and charges only some allocations to its
// memory budget, so `reduce(1..100000, #acc + "xxxxxxxxxx", "")` (quadratic string
// building) or two nested loops over a large list could run for minutes past a step's
// timeout, and hang plan. Every compiled expression is therefore patched (Patch): each
// loop iteration and each + - * goes through the evaluation's Budget, which also
// watches the context, so a timeout or Ctrl-C stops it within a few thousand operations.
const (
	// MaxSteps bounds loop iterations (map, filter, reduce, sum, …) plus + - *
	// operations in one evaluation: about half a second of work (BenchmarkExprLoop).
	MaxSteps = 4_000_000
	// MaxBytes bounds the bytes of strings built by + (and read by the engine's file())
	// in one evaluation.
	MaxBytes = 256 << 20
	// checkEvery is how many steps pass between two looks at the context.
	checkEvery = 1024
	// exprMemory is expr-lang's own memory budget (conf.DefaultMemoryBudget): the items
	// one range, repeat() or loop result may hold.
	exprMemory = 1_000_000
)

// Names the patch introduces. They contain a space, so no expression can write them.
const (
	// BudgetKey is the environment entry holding an evaluation's *Budget.
	BudgetKey = "aiflow eval"
	fnStep    = "aiflow step"
	fnAdd     = "aiflow +"
	fnSub     = "aiflow -"
	fnMul     = "aiflow *"
	fnNeg     = "aiflow neg"
	fnSum     = "aiflow sum"
	fnAbs     = "aiflow abs"
	fnInt     = "aiflow int"
	maxDigits = 40 // digits of an operand quoted in an overflow error
)

// ErrBudget is the cause of an evaluation stopped for doing too much work.
var ErrBudget = errors.New("expression does too much work")

// Budget is one evaluation's running count, reached through the environment entry
// BudgetKey.
type Budget struct {
	ctx   context.Context
	done  <-chan struct{}
	steps int
	bytes int
}

// NewBudget starts the count for one evaluation, which stops once ctx is done.
func NewBudget(ctx context.Context) *Budget {
	return &Budget{ctx: ctx, done: ctx.Done()}
}

// Reset starts b's count again for another evaluation, which stops once ctx is done. A
// caller that keeps its Budget inside something it allocates anyway (the engine's call)
// spares NewBudget's allocation per evaluation.
func (b *Budget) Reset(ctx context.Context) { *b = Budget{ctx: ctx, done: ctx.Done()} }

// Step counts one unit of work and looks at the context every checkEvery units.
func (b *Budget) Step() error {
	b.steps++
	if b.steps > MaxSteps {
		return fmt.Errorf("%w: more than %d loop iterations and arithmetic operations", ErrBudget, MaxSteps)
	}
	if b.steps%checkEvery == 0 {
		return b.alive()
	}
	return nil
}

// Grow counts n bytes of strings built or read.
func (b *Budget) Grow(n int) error {
	b.bytes += n
	if b.bytes > MaxBytes {
		return fmt.Errorf("%w: builds more than %d MiB of text", ErrBudget, MaxBytes>>20)
	}
	return b.alive()
}

func (b *Budget) alive() error {
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

// BudgetOf is the *Budget a patched call received as its first argument.
func BudgetOf(v any) *Budget {
	if b, ok := v.(*Budget); ok && b != nil {
		return b
	}
	// An evaluation without a budget in its environment (a program run outside Run)
	// still gets a fresh, background one.
	return NewBudget(context.Background())
}

// Env adds the BudgetKey entry a type-checking environment needs for patched programs.
func Env(env map[string]any) map[string]any {
	env[BudgetKey] = (*Budget)(nil)
	return env
}

// Run runs a patched program in env (which it does not modify) with a fresh budget for
// ctx. expr-lang's own "memory budget exceeded" comes back as ErrBudget.
func Run(ctx context.Context, prog *vm.Program, env map[string]any) (any, error) {
	scope := make(map[string]any, len(env)+1)
	for k, v := range env {
		scope[k] = v
	}
	scope[BudgetKey] = NewBudget(ctx)
	v, err := expr.Run(prog, scope)
	if err != nil {
		return nil, Translate(err)
	}
	return v, nil
}

// Patch rewrites a checked expression tree so its work is counted: predicate bodies
// become fnStep(budget, body); a + b, a - b, a * b, -a, sum(), abs() and int() become
// calls that refuse integer overflow; and the functions named in Budgeted become their
// variants, which take the budget first. Register the variants and Options(), then
// add expr.Patch(Patch{…}) last, so it sees every function.
type Patch struct {
	// Budgeted maps a function name to the name of a variant that takes the budget as
	// its first argument (the engine's file(), join(), replace()).
	Budgeted map[string]string
}

var binaryFns = map[string]string{"+": fnAdd, "-": fnSub, "*": fnMul}

var builtinFns = map[string]string{"abs": fnAbs, "int": fnInt}

// Visit implements ast.Visitor. ast.Walk visits children first, so a node's operands
// are already patched when it is.
func (p Patch) Visit(node *ast.Node) {
	budget := func() ast.Node { return &ast.IdentifierNode{Value: BudgetKey} }
	call := func(fn string, args ...ast.Node) {
		ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: append([]ast.Node{budget()}, args...)})
	}
	switch n := (*node).(type) {
	case *ast.PredicateNode:
		n.Node = &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnStep}, Arguments: []ast.Node{budget(), n.Node}}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		if fn := p.Budgeted[id.Value]; fn != "" {
			call(fn, n.Arguments...)
		}
	case *ast.BinaryNode:
		if fn := binaryFns[n.Operator]; fn != "" {
			call(fn, n.Left, n.Right)
		}
	case *ast.UnaryNode:
		if n.Operator == "-" {
			call(fnNeg, n.Node)
		}
	case *ast.BuiltinNode:
		switch {
		case n.Name == "sum" && len(n.Arguments) == 1:
			call(fnSum, n.Arguments[0])
		case n.Name == "sum" && len(n.Arguments) == 2:
			// sum(list, f) is sum(map(list, f)); map's body is already counted.
			call(fnSum, &ast.BuiltinNode{Name: "map", Arguments: n.Arguments})
		case builtinFns[n.Name] != "" && len(n.Arguments) == 1:
			call(builtinFns[n.Name], n.Arguments[0])
		}
	}
}

// Options register the functions Patch calls (but not the patch).
func Options() []expr.Option {
	return []expr.Option{
		expr.Function(fnStep, func(args ...any) (any, error) {
			if err := BudgetOf(args[0]).Step(); err != nil {
				return nil, err
			}
			return args[1], nil
		}),
		expr.Function(fnAdd, func(args ...any) (any, error) { return arith(BudgetOf(args[0]), args[1], args[2], "+", add64) }),
		expr.Function(fnSub, func(args ...any) (any, error) { return arith(BudgetOf(args[0]), args[1], args[2], "-", sub64) }),
		expr.Function(fnMul, func(args ...any) (any, error) { return arith(BudgetOf(args[0]), args[1], args[2], "*", mul64) }),
		expr.Function(fnNeg, func(args ...any) (any, error) { return negate(args[1]) }),
		expr.Function(fnSum, func(args ...any) (any, error) { return sum(BudgetOf(args[0]), args[1]) }),
		expr.Function(fnAbs, func(args ...any) (any, error) {
			if x, ok := toInt64(args[1]); ok && x == math.MinInt64 {
				return nil, fmt.Errorf("integer overflow: abs(%d) does not fit in 64 bits", x)
			}
			return builtin.Abs(args[1]), nil
		}),
		expr.Function(fnInt, func(args ...any) (any, error) { return toInt(args[1]) }),
	}
}

// arith applies op to x and y with expr-lang's semantics, except that integer overflow
// is an error and string concatenation is charged to the budget.
func arith(b *Budget, x, y any, op string, checked func(a, b int64) (int64, bool)) (any, error) {
	if err := b.Step(); err != nil {
		return nil, err
	}
	if xi, ok := toInt64(x); ok {
		if yi, ok := toInt64(y); ok {
			if _, ok := checked(xi, yi); !ok {
				return nil, fmt.Errorf("integer overflow: %s %s %s does not fit in 64 bits", clipNum(xi), op, clipNum(yi))
			}
		}
	}
	switch op {
	case "+":
		if xs, ok := x.(string); ok {
			if ys, ok := y.(string); ok {
				if err := b.Grow(len(xs) + len(ys)); err != nil {
					return nil, err
				}
				return xs + ys, nil
			}
		}
		return runtime.Add(x, y), nil
	case "-":
		return runtime.Subtract(x, y), nil
	}
	return runtime.Multiply(x, y), nil
}

func negate(x any) (any, error) {
	if xi, ok := toInt64(x); ok && xi == math.MinInt64 {
		return nil, fmt.Errorf("integer overflow: -(%d) does not fit in 64 bits", xi)
	}
	return runtime.Negate(x), nil
}

// sum is expr-lang's sum(list) with checked additions: like expr-lang's, it starts at
// int 0 and adds each element to the total as element + total.
func sum(b *Budget, list any) (any, error) {
	rv := reflect.ValueOf(list)
	if list == nil || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) {
		return nil, fmt.Errorf("sum: expected a list, got %T", list)
	}
	var acc any = 0
	for i := 0; i < rv.Len(); i++ {
		var err error
		if acc, err = arith(b, rv.Index(i).Interface(), acc, "+", add64); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

// toInt is expr-lang's int(x), refusing numbers outside the 64-bit integers instead of
// converting them to whatever the platform gives.
func toInt(x any) (any, error) {
	var f float64
	switch v := x.(type) {
	case float64:
		f = v
	case float32:
		f = float64(v)
	case uint64:
		if v > math.MaxInt64 {
			return nil, fmt.Errorf("integer overflow: int(%d) does not fit in 64 bits", v)
		}
		return builtin.Int(x), nil
	case uint:
		if uint64(v) > math.MaxInt64 {
			return nil, fmt.Errorf("integer overflow: int(%d) does not fit in 64 bits", v)
		}
		return builtin.Int(x), nil
	default:
		return builtin.Int(x), nil
	}
	// -2^63 converts exactly; 2^63 is the first float past the largest int64.
	if math.IsNaN(f) || f >= math.MaxInt64 || f < math.MinInt64 {
		return nil, fmt.Errorf("integer overflow: int(%g) does not fit in 64 bits", f)
	}
	return builtin.Int(x), nil
}

func clipNum(n int64) string {
	s := fmt.Sprint(n)
	if len(s) > maxDigits {
		s = s[:maxDigits] + "…"
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

// ToInt64 is toInt64 for the engine's functions that take a count.
func ToInt64(v any) (int64, bool) { return toInt64(v) }

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
