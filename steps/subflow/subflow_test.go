package subflow

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

func TestRun(t *testing.T) {
	var gotVars map[string]any
	env := &steptest.Env{Flows: map[string]func(context.Context, map[string]any) (map[string]any, error){
		"./lookup.yaml": func(_ context.Context, vars map[string]any) (map[string]any, error) {
			gotVars = vars
			return map[string]any{"answer": "42", "n": 2}, nil
		},
		"./broken.yaml": func(context.Context, map[string]any) (map[string]any, error) {
			return nil, errors.New("sub-flow ./broken.yaml: step x: boom")
		},
		"./silent.yaml": func(context.Context, map[string]any) (map[string]any, error) { return nil, nil },
	}}
	tests := []struct {
		name     string
		inputs   map[string]any
		want     map[string]any
		wantVars map[string]any
		wantErr  string
	}{
		{name: "vars and outputs", inputs: map[string]any{"path": "./lookup.yaml", "vars": map[string]any{"q": "life"}},
			want: map[string]any{"outputs": map[string]any{"answer": "42", "n": 2}}, wantVars: map[string]any{"q": "life"}},
		{name: "no vars", inputs: map[string]any{"path": "./lookup.yaml"},
			want: map[string]any{"outputs": map[string]any{"answer": "42", "n": 2}}, wantVars: map[string]any{}},
		{name: "no outputs", inputs: map[string]any{"path": "./silent.yaml"}, want: map[string]any{"outputs": map[string]any{}}},
		{name: "sub-flow fails", inputs: map[string]any{"path": "./broken.yaml"}, wantErr: "sub-flow ./broken.yaml: step x: boom"},
		{name: "no path", inputs: map[string]any{}, wantErr: "flow needs a path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotVars = nil
			res, err := flowStep{}.Run(context.Background(), &steps.Call{StepID: "s", Item: -1, Inputs: tt.inputs, Env: env})
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, res.Output); d != "" {
				t.Errorf("output (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantVars, gotVars); d != "" {
				t.Errorf("vars (-want +got):\n%s", d)
			}
		})
	}
}

func pathSetting(t *testing.T, src string) []*spec.Setting {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	v := &spec.Value{Node: doc.Content[0], Path: "steps.s.with.path", Pos: spec.Pos{File: "f.yaml", Line: 5, Col: 13}}
	return []*spec.Setting{{Key: "path", Value: v}}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		with      string
		wantDiags []string
		wantNotes []string
	}{
		{name: "yaml file", with: "./tools/lookup.yaml", wantNotes: []string{"runs sub-flow ./tools/lookup.yaml"}},
		{name: "yml file", with: "other.yml", wantNotes: []string{"runs sub-flow other.yml"}},
		{name: "expression", with: "${ vars.flow }"},
		{name: "not a flow file", with: "./lookup.json", wantDiags: []string{`f.yaml:5:13: steps.s.with.path: path "./lookup.json" is not a flow file: give a .yaml or .yml file, relative to this flow's file`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, diags := Kind.New(&spec.Step{ID: "s", Uses: "flow", With: pathSetting(t, tt.with)})
			var got []string
			for _, d := range diags {
				got = append(got, d.String())
			}
			if d := cmp.Diff(tt.wantDiags, got); d != "" {
				t.Errorf("diagnostics (-want +got):\n%s", d)
			}
			if len(diags) > 0 {
				return
			}
			notes := st.(interface{ PlanNotes() []string }).PlanNotes()
			if d := cmp.Diff(tt.wantNotes, notes); d != "" {
				t.Errorf("plan notes (-want +got):\n%s", d)
			}
			var wantFlows []string
			if tt.wantNotes != nil {
				wantFlows = []string{tt.with}
			}
			if d := cmp.Diff(wantFlows, st.(interface{ SubFlows() []string }).SubFlows()); d != "" {
				t.Errorf("sub-flows (-want +got):\n%s", d)
			}
		})
	}
}
