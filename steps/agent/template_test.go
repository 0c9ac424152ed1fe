package agent

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/internal/exprguard"
)

// TestTemplateEvalBounded: the model controls a tool template's arguments, so its
// expressions get the engine's evaluation budget, cancellation and overflow checks, not
// just expr-lang's own limits; errors carry no expr-lang "(line:col)".
func TestTemplateEvalBounded(t *testing.T) {
	const tool = `- name: t
  description: T.
  parameters: {type: object, properties: {xs: {type: array}, n: {type: integer}}}
  step:
    uses: search
    with: {text: "EXPR"}
`
	xs := make([]any, 3000)
	for i := range xs {
		xs[i] = i
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name, expr string
		ctx        context.Context
		args       map[string]any
		want       error
		text       string
	}{
		{"nested loops", "${ count(args.xs, any(args.xs, # < 0)) }", context.Background(), map[string]any{"xs": xs}, exprguard.ErrBudget, "too much work"},
		{"memory budget", "${ len(1..args.n) }", context.Background(), map[string]any{"n": 2_000_000}, exprguard.ErrBudget, "too much work"},
		{"cancelled", "${ reduce(1..999999, #acc + 1, 0) }", cancelled, nil, context.Canceled, "evaluation stopped"},
		{"overflow", "${ args.n + 1 }", context.Background(), map[string]any{"n": math.MaxInt64}, nil, "integer overflow"},
		{"negation", "${ -args.n }", context.Background(), map[string]any{"n": math.MinInt64}, nil, "integer overflow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []map[string]any
			a := build(t, strings.Replace(tool, "EXPR", tc.expr, 1))
			_, err := a.tools[0].backing.(*stepTool).run(tc.ctx, kbEnv(&got), tc.args)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want an error containing %q", err, tc.text)
			}
			if strings.Contains(err.Error(), "(1:") || len(got) != 0 {
				t.Errorf("error %q has expr-lang's position, or the step ran (%v)", err, got)
			}
		})
	}
}
