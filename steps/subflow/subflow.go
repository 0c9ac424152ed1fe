// Package subflow implements the "flow" step kind: it runs another flow file as a
// sub-flow, with its own vars, and returns the sub-flow's outputs. Flows compose this way:
// a shared ingest or lookup flow is written once and called from several others.
//
// The path is relative to the calling flow's file. The sub-flow shares the run's state
// directory (its local indexes and cache) and run store; its usage is added to the run's.
// Sub-flows may nest up to a depth the engine bounds (8 levels). Flow files that run each
// other in a loop (a → a, a → b → a) are a validate error listing every flow step of the
// loop; when a path is computed at run time, the run refuses the first repeat instead.
// Each distinct sub-flow file is compiled once per validate or run, however many steps
// call it.
//
// A sub-flow may call models, so the kind is not deterministic and is not cached unless
// the step sets cache: itself.
package subflow

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

func init() { steps.MustRegister(Kind) }

// Kind describes the flow step to the registry.
var Kind = steps.Kind{
	Name:    "flow",
	Summary: "Run another flow file as a sub-flow and return its outputs.",
	Inputs: []steps.Field{
		{Name: "path", Type: steps.String, Required: true, Doc: "The flow file to run, relative to this flow's file, e.g. ./tools/lookup.yaml."},
		{Name: "vars", Type: steps.Object, Doc: "The sub-flow's vars, by name; its defaults apply to the ones left out."},
	},
	Outputs: []steps.Field{
		{Name: "outputs", Type: steps.Object, Doc: "The sub-flow's outputs, by name."},
	},
	Version:       "1",
	Deterministic: false,
	New:           newFlowStep,
}

// flowStep remembers a literal path for plan notes.
type flowStep struct{ path string }

var _ steps.Step = flowStep{}

func newFlowStep(s *spec.Step) (steps.Step, spec.Diagnostics) {
	var diags spec.Diagnostics
	set := s.Input("path")
	if set == nil {
		return flowStep{}, nil // the engine reports the missing required input
	}
	p := set.Value.Scalar()
	if set.Value.HasExpr() {
		return flowStep{}, nil
	}
	if ext := strings.ToLower(filepath.Ext(p)); ext != ".yaml" && ext != ".yml" {
		diags.Errorf(set.Value.Pos, set.Value.Path, "path %q is not a flow file", p)
		diags[len(diags)-1].Detail = "give a .yaml or .yml file, relative to this flow's file"
	}
	return flowStep{path: p}, diags
}

// PlanNotes says which flow the step runs.
func (f flowStep) PlanNotes() []string {
	if f.path == "" {
		return nil
	}
	return []string{"runs sub-flow " + f.path}
}

// SubFlows lists the flow file the step runs when its path is literal, so that
// validation can check it before a run.
func (f flowStep) SubFlows() []string {
	if f.path == "" {
		return nil
	}
	return []string{f.path}
}

// Run runs the sub-flow with the given vars.
func (flowStep) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	path, _ := call.Inputs["path"].(string)
	if path == "" {
		return steps.Result{}, fmt.Errorf("flow needs a path")
	}
	vars, _ := call.Inputs["vars"].(map[string]any)
	if vars == nil {
		vars = map[string]any{}
	}
	outputs, err := call.Env.RunFlow(ctx, path, vars)
	if err != nil {
		return steps.Result{}, err
	}
	if outputs == nil {
		outputs = map[string]any{}
	}
	return steps.Result{Output: map[string]any{"outputs": outputs}}, nil
}
