package generate

import (
	"encoding/json"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
)

// toolDecl is one entry of a step's tools: list.
type toolDecl struct {
	Name        string         `yaml:"name"`
	Description string         `yaml:"description"`
	Parameters  map[string]any `yaml:"parameters"`
}

// decodeTools reads the static tools: list of {name, description, parameters}. The model
// may answer with tool calls, which the step returns as output.tool_calls.
func decodeTools(v *spec.Value) ([]providers.ToolSpec, spec.Diagnostics) {
	var diags spec.Diagnostics
	if v == nil || v.Node == nil {
		return nil, nil
	}
	var decls []toolDecl
	if err := v.Node.Decode(&decls); err != nil {
		diags.Errorf(v.Pos, v.Path, "tools must be a list of {name, description, parameters}")
		return nil, diags
	}
	seen := map[string]bool{}
	var out []providers.ToolSpec
	for _, d := range decls {
		switch {
		case d.Name == "":
			diags.Errorf(v.Pos, v.Path, "a tool needs a name")
		case seen[d.Name]:
			diags.Errorf(v.Pos, v.Path, "tool %q is declared twice", d.Name)
		case strings.Contains(fmtAny(d), "${"):
			diags.Errorf(v.Pos, v.Path, "tool %q: tools are static; expressions are not evaluated there", d.Name)
		}
		seen[d.Name] = true
		params := d.Parameters
		if params == nil {
			params = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		out = append(out, providers.ToolSpec{Name: d.Name, Description: d.Description, Parameters: params})
	}
	return out, diags
}

func fmtAny(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// toolArgs parses a tool call's JSON arguments, keeping the raw text when it is not JSON.
func toolArgs(b []byte) any {
	if len(b) == 0 {
		return map[string]any{}
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	return v
}
