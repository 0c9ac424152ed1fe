// Package transform implements the "transform" step kind: a pure expression, no model.
// It reshapes data between steps (pick fields, build lists, format text).
package transform

import (
	"context"

	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

func init() { steps.MustRegister(Kind) }

// Kind describes the transform step to the registry.
var Kind = steps.Kind{
	Name:          "transform",
	Summary:       "Compute a value from expressions; no model is called.",
	Inputs:        []steps.Field{{Name: "expr", Type: steps.Any, Required: true, Doc: "The value to produce: any YAML value, with ${ } expressions anywhere inside."}},
	Outputs:       []steps.Field{{Name: "value", Type: steps.Any, Doc: "The evaluated value."}},
	Version:       "1",
	Deterministic: true,
	Local:         true, // evaluates an expression in memory
	FreshOutput:   true, // Run builds a new map per call
	New:           func(*spec.Step) (steps.Step, spec.Diagnostics) { return transformer{}, nil },
}

type transformer struct{}

var _ steps.Step = transformer{}

// Run returns the evaluated value: the engine has already evaluated every expression.
func (transformer) Run(_ context.Context, call *steps.Call) (steps.Result, error) {
	return steps.Result{Output: map[string]any{"value": call.Inputs["expr"]}}, nil
}
