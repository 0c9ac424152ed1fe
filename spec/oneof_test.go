package spec_test

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/spec"
)

// TestUnknownEnumValue pins what a field with a fixed set of values says about one
// outside it: the value, a did-you-mean, and every accepted value, at the value.
func TestUnknownEnumValue(t *testing.T) {
	const head = "aiflow: 1\nsteps:\n  a:\n    uses: transform\n    with: {value: 1}\n"
	tests := []struct {
		name, src, want string
	}{
		{"var type", head + "vars:\n  n: {type: strng}\n",
			`e.yaml:7:13: vars.n.type: unknown type "strng" (did you mean "string"?): allowed types: ` + strings.Join(spec.VarTypes, ", ")},
		{"state backend", head + "state: {backend: postgress}\n",
			`e.yaml:6:18: state.backend: unknown state backend "postgress" (did you mean "postgres"?): backends: ` + strings.Join(spec.StateBackends, ", ")},
		{"expression", head + "state: {backend: '${ vars.b }'}\n",
			`e.yaml:6:18: state.backend: expressions are not allowed here: this field is read before anything is evaluated; write a literal value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := spec.Parse("e.yaml", []byte(tt.src))
			if len(diags) != 1 || diags[0].String() != tt.want {
				t.Fatalf("diagnostics %v\nwant exactly %q", diags, tt.want)
			}
		})
	}
}
