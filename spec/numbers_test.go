package spec_test

import (
	"math"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/spec"
)

// TestNumbersJSONCannotHold checks that infinities, NaN and integers beyond 64 bits are
// refused where they are written, naming the field, instead of failing the run later
// with "json: unsupported value" or silently becoming a float or a string.
func TestNumbersJSONCannotHold(t *testing.T) {
	const steps = "steps:\n  a:\n    uses: transform\n    with:\n      expr: 1\n"
	tests := []struct {
		name, src string
		pos       string // line:col of the error
		path      string
		summary   string
	}{
		{"default .inf", "aiflow: 1\nvars:\n  ratio: { type: number, default: .inf }\n" + steps, "3:35", "vars.ratio.default", "not a finite number"},
		{"default -.Inf", "aiflow: 1\nvars:\n  ratio:\n    default: -.Inf\n" + steps, "4:14", "vars.ratio.default", "not a finite number"},
		{"shorthand .nan", "aiflow: 1\nvars:\n  ratio: .nan\n" + steps, "3:10", "vars.ratio", "not a finite number"},
		{"nested in a list default", "aiflow: 1\nvars:\n  xs: { default: [1, 2, .inf] }\n" + steps, "3:25", "vars.xs.default[2]", "not a finite number"},
		{"in an enum", "aiflow: 1\nvars:\n  x: { type: number, enum: [1, .NaN], default: 1 }\n" + steps, "3:32", "vars.x.enum[1]", "not a finite number"},
		{"in a step input", "aiflow: 1\nsteps:\n  a:\n    uses: transform\n    with:\n      expr: .inf\n", "6:13", "steps.a.with.expr", "not a finite number"},
		{"integer default beyond int64", "aiflow: 1\nvars:\n  n: { type: integer, default: 99999999999999999999 }\n" + steps, "3:32", "vars.n.default", "integer 99999999999999999999 is out of range"},
		{"negative integer beyond int64", "aiflow: 1\nvars:\n  n: -9223372036854775809\n" + steps, "3:6", "vars.n", "integer -9223372036854775809 is out of range"},
		{"uint64 integer", "aiflow: 1\nvars:\n  n: { default: 18446744073709551615 }\n" + steps, "3:17", "vars.n.default", "integer 18446744073709551615 is out of range"},
		{"hex beyond int64", "aiflow: 1\nvars:\n  n: 0x1FFFFFFFFFFFFFFFF\n" + steps, "3:6", "vars.n", "integer 0x1FFFFFFFFFFFFFFFF is out of range"},
		{"float beyond float64", "aiflow: 1\nvars:\n  n: { type: number, default: 1e400 }\n" + steps, "3:31", "vars.n.default", "number 1e400 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := spec.Parse("n.yaml", []byte(tt.src))
			errs := diags.Errors()
			if len(errs) != 1 {
				t.Fatalf("want one error, got %v", diags)
			}
			d := errs[0]
			if got := d.Pos.String(); got != "n.yaml:"+tt.pos || d.Path != tt.path || !strings.Contains(d.Summary, tt.summary) {
				t.Errorf("got %v\nwant n.yaml:%s: %s: …%s…", d, tt.pos, tt.path, tt.summary)
			}
		})
	}
}

// TestNumbersInRange checks the limits themselves are accepted.
func TestNumbersInRange(t *testing.T) {
	src := "aiflow: 1\nvars:\n  a: 9223372036854775807\n  b: -9223372036854775808\n  c: 1.7e308\n  d: { type: integer, default: 1_000 }\nsteps:\n  a:\n    uses: transform\n    with:\n      expr: 1\n"
	f, diags := spec.Parse("n.yaml", []byte(src))
	if len(diags) > 0 {
		t.Fatalf("want no diagnostics, got %v", diags)
	}
	if got := f.VarByName("a").Default.Plain(); got != math.MaxInt64 {
		t.Errorf("a = %v (%T), want MaxInt64", got, got)
	}
}

// TestCheckVarValueNumbers checks values given on the command line or in a vars file,
// which reach CheckVarValue already decoded.
func TestCheckVarValueNumbers(t *testing.T) {
	tests := []struct {
		name string
		typ  string
		val  any
		want string // substring of the error; "" for none
	}{
		{"+Inf number", "number", math.Inf(1), `is +Inf, but var "v" must be a finite number`},
		{"NaN any", "any", math.NaN(), `is NaN, but var "v" must be a finite number`},
		{"-Inf in a list", "list", []any{1, math.Inf(-1)}, `holds -Inf at [1], but var "v" must hold finite numbers only`},
		{"Inf in an object", "object", map[string]any{"a": map[string]any{"b": math.Inf(1)}}, `holds +Inf at .a.b`},
		{"1e20 integer", "integer", 1e20, `is out of range for var "v" of type integer`},
		{"-1e19 integer", "integer", -1e19, `is out of range for var "v" of type integer`},
		{"2^63 integer", "integer", 9223372036854775808.0, `is out of range`},
		{"1e20 number", "number", 1e20, ""},
		{"integral float integer", "integer", 42.0, ""},
		{"fraction integer", "integer", 4.5, `is a number, but var "v" has type integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := spec.CheckVarValue(&spec.Var{Name: "v", Type: tt.typ}, tt.val)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("want no error, got %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
