package query_test

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/spec"
	_ "github.com/aiflow/aiflow/steps/query"
)

// TestValidateRefusesExpressionsInSQL is the validate-time half of the SQL injection
// fix: a ${ } in a query's sql is an error at its file:line:col that points to params:,
// while placeholders with params, and a literal "$${", pass.
func TestValidateRefusesExpressionsInSQL(t *testing.T) {
	const head = "aiflow: 1\nvars:\n  source: { type: string, default: a.md }\nresources:\n  db: { kind: database }\nsteps:\n  q:\n    uses: query\n    with:\n      database: ${ resources.db }\n"
	tests := []struct {
		name, with string
		want       string // "" when valid
	}{
		{"interpolated var", "      sql: SELECT text FROM chunks WHERE source = '${ vars.source }'\n",
			"f.yaml:11:12: steps.q.with.sql: sql cannot hold ${ } expressions"},
		{"whole expression", "      sql: ${ vars.source }\n",
			"f.yaml:11:12: steps.q.with.sql: sql cannot hold ${ } expressions"},
		{"block scalar", "      sql: |\n        SELECT text FROM chunks\n        WHERE source = '${ vars.source }'\n",
			"f.yaml:11:12: steps.q.with.sql: sql cannot hold ${ } expressions"},
		{"placeholders and params", "      sql: SELECT text FROM chunks WHERE source = ?\n      params: [\"${ vars.source }\"]\n", ""},
		{"escaped dollar brace", "      sql: SELECT '$${ not an expression }' AS x\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := spec.Parse("f.yaml", []byte(head+tt.with))
			if diags.HasErrors() {
				t.Fatal(diags.Err())
			}
			_, diags = engine.Compile(f, engine.Options{})
			errs := diags.Errors()
			if tt.want == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", diags.Err())
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one", diags.Err())
			}
			got := errs[0].String()
			if !strings.Contains(got, tt.want) || !strings.Contains(got, "params:") {
				t.Errorf("error = %q, want it to contain %q and point to params:", got, tt.want)
			}
		})
	}
}
