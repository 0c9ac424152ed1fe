package engine_test

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/engine"
)

// TestForEachItemCap checks that a for_each list longer than the step's cap fails the
// step before any item runs, naming the step, where its for_each is written and the
// count, instead of fanning out millions of calls with no progress output.
func TestForEachItemCap(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		wantErr string // "" when the step must succeed
		calls   int    // items run
	}{
		{"default cap", "aiflow: 1\nsteps:\n  fan:\n    uses: probe\n    for_each: ${ 1..100001 }\n    with: { value: \"${ each.value }\" }\n",
			`test.yaml:5:15: step "fan": steps.fan.for_each: ${ 1..100001 }: for_each gives 100001 items, more than the limit of 100000`, 0},
		{"max_items lower", "aiflow: 1\nvars:\n  xs: { default: [1, 2, 3, 4] }\nsteps:\n  fan:\n    uses: probe\n    max_items: 3\n    for_each: ${ vars.xs }\n    with: { value: \"${ each.value }\" }\n",
			`test.yaml:8:15: step "fan": steps.fan.for_each: ${ vars.xs }: for_each gives 4 items, more than the limit of 3 (max_items)`, 0},
		{"max_items at the limit", "aiflow: 1\nvars:\n  xs: { default: [1, 2, 3] }\nsteps:\n  fan:\n    uses: probe\n    max_items: 3\n    for_each: ${ vars.xs }\n    with: { value: \"${ each.value }\" }\n",
			"", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProbe()
			_, err := runTest(t, compileTest(t, p, tt.src), engine.RunOptions{})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("run: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v\nwant   %s", err, tt.wantErr)
			}
			calls := 0
			for _, n := range p.calls {
				calls += n
			}
			if calls != tt.calls {
				t.Errorf("%d items ran, want %d", calls, tt.calls)
			}
		})
	}
}
