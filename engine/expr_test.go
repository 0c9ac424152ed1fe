package engine_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/spec"
)

// exprValue wraps src as the flow value at fuzz.yaml:3:7.
func exprValue(src string) *spec.Value {
	return &spec.Value{Node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: src, Line: 3, Column: 7},
		Path: "steps.x.with.v", Pos: spec.Pos{File: "fuzz.yaml", Line: 3, Col: 7}}
}

// compileErr compiles src with c and returns the text of its diagnostics.
func compileErr(t *testing.T, c *engine.Compiler, src string) string {
	t.Helper()
	_, _, diags := c.Compile(exprValue(src))
	return diags.Err().Error()
}

// TestExprNestingBounded: deeply nested parentheses, brackets and braces are refused with
// a positioned diagnostic instead of overflowing the parser's stack.
func TestExprNestingBounded(t *testing.T) {
	c := engine.NewCompiler(&engine.Funcs{Dir: t.TempDir()})
	const n = 1_000_000
	for _, tc := range []struct{ name, open, close string }{
		{"parentheses", "(", ")"},
		{"brackets", "[", "]"},
		{"braces", `{"a": `, "}"},
		{"mixed", "([", "])"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, src := range []string{
				"${ " + strings.Repeat(tc.open, n) + "1" + strings.Repeat(tc.close, n) + " }",
				"text ${ " + strings.Repeat(tc.open, n) + "1" + strings.Repeat(tc.close, n) + " } more",
			} {
				_, _, diags := c.Compile(exprValue(src))
				if !diags.HasErrors() {
					t.Fatalf("%s nested %d deep compiled", tc.name, n)
				}
				msg := diags.Err().Error()
				if !strings.Contains(msg, "fuzz.yaml:3:7") || !strings.Contains(msg, "nest more than") {
					t.Errorf("diagnostic %q should name the position and the nesting limit", msg)
				}
				_, _, diags = c.CompileCondition(exprValue(src))
				if !diags.HasErrors() {
					t.Errorf("condition nested %d deep compiled", n)
				}
			}
		})
	}
	// Chains that recurse in expr-lang's parser without brackets are bounded too.
	for _, src := range []string{
		"${ " + strings.Repeat("- ", n) + "1 }",
		"${ " + strings.Repeat("not ", n) + "true }",
		"${ " + strings.Repeat("2 ** ", n) + "1 }",
		"${ " + strings.Repeat("true ? 1 : ", n) + "2 }",
	} {
		msg := compileErr(t, c, src)
		if !strings.Contains(msg, "fuzz.yaml:3:7") || !strings.Contains(msg, "tokens") {
			t.Errorf("%.20s…: diagnostic %q should name the position and the token limit", src, msg)
		}
		if len(msg) > 1000 {
			t.Errorf("%.20s…: diagnostic is %d bytes long; it should quote a clipped expression", src, len(msg))
		}
	}
	// Nesting within the limit, and brackets inside string literals, still compile.
	for _, src := range []string{
		"${ " + strings.Repeat("(", 30) + "1" + strings.Repeat(")", 30) + " }",
		`${ "` + strings.Repeat("(", 500) + `" }`,
		`${ '` + strings.Repeat("[", 500) + `' }`,
	} {
		if _, _, diags := c.Compile(exprValue(src)); diags.HasErrors() {
			t.Errorf("%.40s…: %v", src, diags.Err())
		}
	}
}

// evalSrc compiles src as a flow value and evaluates it in scope.
func evalSrc(t *testing.T, ctx context.Context, src string, scope map[string]any) (any, error) {
	t.Helper()
	c := engine.NewCompiler(&engine.Funcs{Dir: t.TempDir()})
	tmpl, _, diags := c.Compile(exprValue(src))
	if diags.HasErrors() {
		t.Fatalf("%s: %v", src, diags.Err())
	}
	return tmpl.EvalContext(ctx, scope)
}

// TestExprIntegerOverflow: + - * on integers that leave 64 bits is an error naming the
// expression, not a silent wrap; in-range arithmetic and other types are unchanged.
func TestExprIntegerOverflow(t *testing.T) {
	scope := map[string]any{"vars": map[string]any{"max": math.MaxInt64, "min": math.MinInt64, "n": 2, "s": "ab", "f": 1.5, "big": 1e300}}
	for _, src := range []string{
		"${ 9223372036854775807 + 1 }",
		"${ vars.max + 1 }",
		"${ vars.min - 1 }",
		"${ 1 - vars.min }",
		"${ vars.max * 2 }",
		"${ vars.min * -1 }",
		"${ 4611686018427387904 * 2 }",
		"${ reduce(1..70, #acc * 2, 1) }",
		"x = ${ vars.max + vars.n }",
		// Integer-producing builtins and unary minus wrap in expr-lang too.
		"${ sum([vars.max, 1]) }",
		"${ sum([1, 2], vars.max) }",
		"${ sum(1..3, # * vars.max) }",
		"${ -vars.min }",
		"${ - - -vars.min }",
		"${ abs(vars.min) }",
		"${ int(vars.big) }",
		"${ int(-vars.big) }",
		"${ int(1e19) }",
	} {
		_, err := evalSrc(t, context.Background(), src, scope)
		if err == nil || !strings.Contains(err.Error(), "integer overflow") || !strings.Contains(err.Error(), "fuzz.yaml:3:7") {
			t.Errorf("%s: got %v, want an integer overflow error at fuzz.yaml:3:7", src, err)
		}
	}
	for src, want := range map[string]any{
		"${ 9223372036854775806 + 1 }":        math.MaxInt64,
		"${ vars.min + vars.max }":            -1,
		"${ vars.n * 3 - 1 }":                 5,
		"${ -4611686018427387904 * 2 }":       math.MinInt64,
		"${ vars.f + 1 }":                     2.5,
		"${ vars.max + 0.5 }":                 float64(math.MaxInt64) + 0.5,
		"${ vars.s + \"c\" }":                 "abc",
		"${ vars.n + 1 > 2 }":                 true,
		"${ map([1, 2, 3], # * 2) }":          []any{2, 4, 6},
		"${ filter(1..5, # % 2 == 1) }":       []any{1, 3, 5},
		"${ reduce(1..4, #acc + #, 0) }":      10,
		"${ sum(map(1..3, # + 1)) }":          9,
		"n=${ vars.n * 2 } s=${ vars.s }":     "n=4 s=ab",
		"${ len(repeat(\"ab\", 3) + \"c\") }": 7,
		"${ sum([1, 2, 3]) }":                 6,
		"${ sum([]) }":                        0,
		"${ sum([1.5, 2]) }":                  3.5,
		"${ sum(1..3, # * 2) }":               12,
		"${ sum([vars.max, vars.min]) }":      -1,
		"${ -vars.n }":                        -2,
		"${ -vars.max }":                      -math.MaxInt64,
		"${ -vars.f }":                        -1.5,
		"${ abs(-3) }":                        3,
		"${ abs(vars.min + 1) }":              math.MaxInt64,
		"${ abs(-1.5) }":                      1.5,
		"${ int(2.9) }":                       2,
		"${ int(-2.9) }":                      -2,
		"${ int(\"42\") }":                    42,
		"${ int(vars.max) }":                  math.MaxInt64,
	} {
		got, err := evalSrc(t, context.Background(), src, scope)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", src, got, want)
		}
	}
}

// TestExprEvalBounded: quadratic string building and nested loops over big data stop at
// the evaluation bounds, and a done context stops an evaluation, instead of running for
// minutes past a step's timeout or hanging plan.
func TestExprEvalBounded(t *testing.T) {
	big := make([]any, 100_000)
	for i := range big {
		big[i] = i
	}
	scope := map[string]any{"vars": map[string]any{"big": big, "mib": strings.Repeat("x", 1<<20)}}
	for _, src := range []string{
		`${ reduce(1..100000, #acc + "xxxxxxxxxx", "") }`,
		`${ count(vars.big, any(vars.big, # < 0)) }`,
		`${ reduce(1..100, #acc + #acc, "x") }`,
		// Functions whose output multiplies their input are charged before they build it.
		`${ replace(replace(replace(repeat("x", 99999), "x", repeat("x", 99)), "x", repeat("x", 99)), "x", repeat("x", 99)) }`,
		`${ len(join(map(1..999, vars.mib))) }`,
		`${ len(join(map(1..999, vars.mib), vars.mib)) }`,
		// expr-lang's own memory budget (ranges, repeat) is reported as ours.
		`${ len(1..2000000) }`,
		`${ len(repeat("x", 2000000)) }`,
		`${ len(map(vars.big, 1..20)) }`,
	} {
		_, err := evalSrc(t, context.Background(), src, scope)
		if !errors.Is(err, engine.ErrEvalBudget) {
			t.Errorf("%s: got %v, want ErrEvalBudget", src, err)
		}
		if err != nil && (!strings.Contains(err.Error(), "fuzz.yaml:3:7") || !strings.Contains(err.Error(), "too much work") || strings.Contains(err.Error(), "memory budget")) {
			t.Errorf("%s: error %q should name the position and the cause", src, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := evalSrc(t, ctx, `${ reduce(1..999999, #acc + 1, 0) }`, scope)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled evaluation: got %v, want context.Canceled", err)
	}
	for src, want := range map[string]any{
		`${ len(reduce(1..1000, #acc + "x", "")) }`: 1000,
		`${ replace("a-b-c", "-", "+") }`:           "a+b+c",
		`${ replace("a-b-c", "-", "+", 1) }`:        "a+b-c",
		`${ replace("abc", "", "-") }`:              "-a-b-c-",
		`${ join(["a", 1, true], ", ") }`:           "a, 1, true",
		`${ join(map(1..3, # * 2)) }`:               "246",
	} {
		got, err := evalSrc(t, context.Background(), src, scope)
		if err != nil || got != want {
			t.Errorf("%s = %#v, %v; want %#v", src, got, err, want)
		}
	}
}

// BenchmarkExprLoop measures one budgeted loop iteration with arithmetic (the cost
// MaxEvalSteps multiplies).
func BenchmarkExprLoop(b *testing.B) {
	c := engine.NewCompiler(&engine.Funcs{Dir: b.TempDir()})
	tmpl, _, diags := c.Compile(exprValue("${ reduce(1..100000, #acc + # * 2, 0) }"))
	if diags.HasErrors() {
		b.Fatal(diags.Err())
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tmpl.Eval(nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/300_000, "ns/step")
}

// TestStepTimeoutStopsEvaluation: a step's timeout: bounds the evaluation of its inputs
// (about half a second of work here, against 1ms), a cancelled run stops it, and plan
// stops at the evaluation bounds instead of hanging on quadratic string building.
func TestStepTimeoutStopsEvaluation(t *testing.T) {
	const slow = `'${ reduce(1..999999, #acc + # * 2, 0) }'`
	fl := compileTest(t, newProbe(), "aiflow: 1\nsteps:\n  slow:\n    uses: transform\n    timeout: 1ms\n    with:\n      expr: "+slow+"\n")
	_, err := runTest(t, fl, engine.RunOptions{})
	var te *engine.TimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "test.yaml:7:13") || !strings.Contains(err.Error(), "timed out after 1ms") {
		t.Errorf("run with timeout: 1ms: got %v, want a positioned timeout", err)
	}

	fl = compileTest(t, newProbe(), "aiflow: 1\nsteps:\n  slow:\n    uses: transform\n    with:\n      expr: "+slow+"\n")
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := fl.Run(ctx, engine.RunOptions{Store: st}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: got %v", err)
	}

	fl = compileTest(t, newProbe(), "aiflow: 1\nsteps:\n  big:\n    uses: transform\n    with:\n      expr: '${ reduce(1..100000, #acc + \"xxxxxxxxxx\", \"\") }'\n")
	if _, err := fl.Plan(context.Background(), engine.PlanOptions{}); err != nil && !errors.Is(err, engine.ErrEvalBudget) {
		t.Errorf("plan: %v", err)
	}
	if _, err := runTest(t, fl, engine.RunOptions{}); !errors.Is(err, engine.ErrEvalBudget) {
		t.Errorf("run of quadratic string building: got %v, want ErrEvalBudget", err)
	}
}

// TestExprErrorPositions: expression errors name the file position of the expression
// only, without expr-lang's own "(line:col)" counted from the start of the expression;
// in a long expression, where it helps, they say where in the expression instead.
func TestExprErrorPositions(t *testing.T) {
	long := "${ vars.a + vars.b + vars.c + vars.d + vars.e + vars.f + vars.g + vars.h + nope(1) }"
	c := engine.NewCompiler(&engine.Funcs{Dir: t.TempDir(), LookupEnv: func(string) (string, bool) { return "", false }})
	for _, tc := range []struct{ src, want string }{
		{`${ 1 + "a" }`, `fuzz.yaml:3:7: steps.x.with.v: invalid expression: ${ 1 + "a" }: invalid operation: + (mismatched types int and string)`},
		{`${ vars.a + }`, `fuzz.yaml:3:7: steps.x.with.v: invalid expression: ${ vars.a + }: unexpected token EOF`},
		{long, "fuzz.yaml:3:7: steps.x.with.v: invalid expression: " + long + ": unknown name nope (at character 73 of the expression)"},
	} {
		if got := compileErr(t, c, tc.src); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
	for _, tc := range []struct{ src, want string }{
		{`${ env("AIFLOW_UNSET") }`, `fuzz.yaml:3:7: steps.x.with.v: ${ env("AIFLOW_UNSET") }: environment variable AIFLOW_UNSET is not set`},
		{`a ${ vars.s } b ${ env("AIFLOW_UNSET") }`, `fuzz.yaml:3:7: steps.x.with.v: ${ env("AIFLOW_UNSET") }: environment variable AIFLOW_UNSET is not set`},
		{`${ vars.s / 2 }`, `fuzz.yaml:3:7: steps.x.with.v: ${ vars.s / 2 }: invalid operation: string / int`},
	} {
		tmpl, _, diags := c.Compile(exprValue(tc.src))
		if diags.HasErrors() {
			t.Fatalf("%s: %v", tc.src, diags.Err())
		}
		_, err := tmpl.Eval(map[string]any{"vars": map[string]any{"s": "text"}})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.src, err, tc.want)
		}
	}
}
