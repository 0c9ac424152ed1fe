package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// MaxToolResult bounds the text of one tool result sent to the model, in bytes; longer
// results are cut and say so.
const MaxToolResult = 16 << 10

// toolName is what every provider accepts as a function name.
var toolName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// decl is one checked entry of the tools: list. MCP entries stand for every tool of
// their server, known only once it runs.
type decl struct {
	spec    providers.ToolSpec
	schema  *jsonschema.Schema
	backing backing
	mcp     *mcpServer
	// loose are the properties of parameters without a single type or a description,
	// which some providers' APIs refuse (see CheckModel).
	loose []looseProp
}

// looseProp is a parameter property lacking what Workers AI requires of it.
type looseProp struct {
	at      node
	name    string
	missing []string // "type", "description"
}

// backing runs a declared tool.
type backing interface {
	// note describes the backing for plan output, e.g. "step search".
	note() string
	run(ctx context.Context, env steps.Env, args map[string]any) (toolOut, error)
}

// toolOut is a tool's answer: text for the model and what producing it cost.
type toolOut struct {
	text  string
	usage providers.Usage
}

var declKeys = []string{"name", "description", "parameters", "step", "flow", "http", "mcp"}

// decodeTools checks the step's tools: list. dir is the flow file's directory.
func decodeTools(v *spec.Value, dir string) ([]*decl, spec.Diagnostics) {
	var d spec.Diagnostics
	if v == nil || v.Node == nil {
		return nil, nil
	}
	root := node{n: v.Node, file: v.Pos.File, path: v.Path}
	if v.Node.Kind != yaml.SequenceNode {
		root.errorf(&d, "tools must be a list of tools")
		d[len(d)-1].Detail = "each tool is {name, description, parameters} with one of step, flow or http, or an {mcp: {command: [...]}} server"
		return nil, d
	}
	var out []*decl
	seen := map[string]bool{}
	for i, it := range v.Node.Content {
		n := root.item(i, it)
		t := decodeTool(n, dir, &d)
		if t == nil {
			continue
		}
		if t.mcp == nil {
			if seen[t.spec.Name] {
				n.errorf(&d, "tool %q is declared twice", t.spec.Name)
			}
			seen[t.spec.Name] = true
		}
		out = append(out, t)
	}
	return out, d
}

// decodeTool checks one entry: its backing, then its name, description and parameters.
func decodeTool(n node, dir string, d *spec.Diagnostics) *decl {
	f, ok := n.fields(d, "a tool", declKeys...)
	if !ok {
		return nil
	}
	var backs []string
	for _, k := range []string{"step", "flow", "http", "mcp"} {
		if _, ok := f[k]; ok {
			backs = append(backs, k)
		}
	}
	switch {
	case len(backs) == 0:
		n.errorf(d, "tool %s has no backing", nameOf(f))
		(*d)[len(*d)-1].Detail = "give exactly one of step: {uses, with}, flow: ./file.yaml, http: {url, allowed_hosts} or mcp: {command}"
		return nil
	case len(backs) > 1:
		n.errorf(d, "tool %s has %d backings (%s); give exactly one", nameOf(f), len(backs), strings.Join(backs, ", "))
		return nil
	case backs[0] == "mcp":
		return decodeMCPEntry(n, f, dir, d)
	}
	t := &decl{}
	if !decodeSpec(n, f, t, d) {
		return nil
	}
	b := f[backs[0]]
	switch backs[0] {
	case "step":
		t.backing = decodeStepTool(b, t, d)
	case "flow":
		t.backing = decodeFlowTool(b, d)
	case "http":
		t.backing = decodeHTTPTool(b, t, d)
	}
	if t.backing == nil {
		return nil
	}
	return t
}

func nameOf(f map[string]node) string {
	if n, ok := f["name"]; ok && n.n.Value != "" {
		return fmt.Sprintf("%q", n.n.Value)
	}
	return "without a name"
}

// decodeSpec reads name, description and parameters.
func decodeSpec(n node, f map[string]node, t *decl, d *spec.Diagnostics) bool {
	before := len(*d)
	name, hasName := f["name"]
	switch {
	case !hasName:
		n.errorf(d, "a tool needs a name")
	default:
		if s, ok := name.str(d, "name"); ok && !toolName.MatchString(s) {
			name.errorf(d, "tool name %q may use only letters, digits, _ and - (at most 64)", s)
		}
		t.spec.Name = name.n.Value
	}
	desc, hasDesc := f["description"]
	switch {
	case !hasDesc || strings.TrimSpace(desc.n.Value) == "":
		n.errorf(d, "tool %s needs a description", nameOf(f))
		(*d)[len(*d)-1].Detail = "the model picks tools by their descriptions"
	default:
		if s, ok := desc.str(d, "description"); ok && strings.Contains(s, "${") {
			desc.errorf(d, "tool descriptions are static; expressions are not evaluated there")
		}
		t.spec.Description = desc.n.Value
	}
	t.spec.Parameters, t.schema = decodeParameters(f, t.spec.Name, d)
	if p, ok := f["parameters"]; ok && t.schema != nil {
		t.loose = looseProps(p)
	}
	return len(*d) == before || !spec.Diagnostics((*d)[before:]).HasErrors()
}

// decodeParameters reads and compiles the JSON Schema of a tool's arguments; without one
// the tool takes no arguments.
func decodeParameters(f map[string]node, name string, d *spec.Diagnostics) (map[string]any, *jsonschema.Schema) {
	p, ok := f["parameters"]
	if !ok {
		params := map[string]any{"type": "object", "properties": map[string]any{}}
		s, _ := compileSchema(name, params)
		return params, s
	}
	params, ok := spec.NodeToAny(p.n).(map[string]any)
	if !ok {
		p.errorf(d, "parameters must be a JSON Schema mapping, got %s", describe(p.n))
		return nil, nil
	}
	if b, _ := json.Marshal(params); strings.Contains(string(b), "${") {
		p.errorf(d, "parameters are static; expressions are not evaluated there")
		return nil, nil
	}
	if typ, ok := params["type"]; ok && typ != "object" {
		p.errorf(d, "parameters must be a schema of type object, got type %v", typ)
		return nil, nil
	}
	if _, ok := params["type"]; !ok {
		params["type"] = "object"
	}
	if _, ok := params["properties"]; !ok {
		params["properties"] = map[string]any{}
	}
	s, err := compileSchema(name, params)
	if err != nil {
		p.errorf(d, "parameters is not a valid JSON Schema: %s", firstLine(err.Error()))
		return nil, nil
	}
	return params, s
}

// looseProps lists the properties under parameters.properties that lack a type given
// as one name, or a non-empty description.
func looseProps(p node) []looseProp {
	var props node
	for i := 0; i+1 < len(p.n.Content); i += 2 {
		if p.n.Content[i].Value == "properties" {
			props = node{n: p.n.Content[i+1], file: p.file, path: p.path + ".properties"}
		}
	}
	if props.n == nil || props.n.Kind != yaml.MappingNode {
		return nil
	}
	var out []looseProp
	for i := 0; i+1 < len(props.n.Content); i += 2 {
		k, v := props.n.Content[i], props.n.Content[i+1]
		lp := looseProp{at: node{n: k, file: p.file, path: props.path + "." + k.Value}, name: k.Value}
		var typ, desc *yaml.Node
		if v.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(v.Content); j += 2 {
				switch v.Content[j].Value {
				case "type":
					typ = v.Content[j+1]
				case "description":
					desc = v.Content[j+1]
				}
			}
		}
		if typ == nil || typ.Kind != yaml.ScalarNode || typ.Tag == "!!null" {
			lp.missing = append(lp.missing, "type")
		}
		if desc == nil || desc.Kind != yaml.ScalarNode || desc.Tag == "!!null" || strings.TrimSpace(desc.Value) == "" {
			lp.missing = append(lp.missing, "description")
		}
		if len(lp.missing) > 0 {
			out = append(out, lp)
		}
	}
	return out
}

// properties lists the names under a schema's properties.
func properties(schema map[string]any) map[string]bool {
	props, _ := schema["properties"].(map[string]any)
	out := make(map[string]bool, len(props))
	for k := range props {
		out[k] = true
	}
	return out
}

// resultText renders a tool's value as the text the model reads: strings as they are,
// anything else as JSON, cut at MaxToolResult.
func resultText(v any) string {
	s, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			s = fmt.Sprint(v)
		} else {
			s = string(b)
		}
	}
	return clip(s, MaxToolResult)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n… (cut: %d of %d bytes shown)", cut, len(s))
}
