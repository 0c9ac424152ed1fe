package agent

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/spec"
	_ "github.com/aiflow/aiflow/steps/generate"
	_ "github.com/aiflow/aiflow/steps/query"
	_ "github.com/aiflow/aiflow/steps/search"
	_ "github.com/aiflow/aiflow/steps/transform"
)

// toolsValue parses src as the tools: value of step "a" in f.yaml, as if it started on line 10.
func toolsValue(t testing.TB, src string) *spec.Value {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(strings.Repeat("\n", 9)+src), &doc); err != nil {
		t.Fatal(err)
	}
	n := doc.Content[0]
	return &spec.Value{Node: n, Path: "steps.a.tools", Pos: spec.Pos{File: "f.yaml", Line: n.Line, Col: n.Column}}
}

func newStep(t testing.TB, tools string) *spec.Step {
	s := &spec.Step{ID: "a", Uses: "agent", Prompt: &spec.Prompt{}, Pos: spec.Pos{File: "f.yaml", Line: 3}}
	if tools != "" {
		s.Tools = toolsValue(t, tools)
	}
	return s
}

const search = `- name: search_kb
  description: Search the knowledge base.
  parameters:
    type: object
    required: [query]
    properties: {query: {type: string, description: What to look for}}
  step:
    uses: search
    with: {index: "${ resources.kb }", text: "${ args.query }", top_k: 3}
    result: ${ output.texts }
`

func TestNewValid(t *testing.T) {
	s := newStep(t, search+`
- name: lookup
  description: Look a term up.
  parameters: {properties: {term: {type: string, description: Term}}}
  flow: ./tools/lookup.yaml
- name: weather
  description: Weather for a city.
  parameters: {type: object, properties: {city: {type: string, description: City}}}
  http: {url: "https://api.example.com/v1/weather/{{ args.city }}?units=metric", allowed_hosts: [api.example.com], timeout: 5s}
- mcp: {command: [my-server, --stdio], include: [read]}
`)
	s.Pos.File = "flows/f.yaml"
	st, diags := Kind.New(s)
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	want := []string{
		"tool search_kb: step search",
		"tool lookup: flow ./tools/lookup.yaml",
		"tool weather: http GET https://api.example.com/v1/weather/{{ args.city }}?units=metric (allowed hosts: api.example.com)",
		"tools of mcp my-server --stdio (only read): listed when the server starts",
	}
	if d := cmp.Diff(want, st.(*agent).PlanNotes()); d != "" {
		t.Errorf("plan notes (-want +got):\n%s", d)
	}
	a := st.(*agent)
	if d := cmp.Diff([]string{"./tools/lookup.yaml"}, a.SubFlows()); d != "" {
		t.Errorf("sub-flows (-want +got):\n%s", d)
	}
	if a.tools[1].spec.Parameters["type"] != "object" || a.tools[3].mcp.dir != "flows" || a.tools[3].mcp.timeout != DefaultMCPTimeout {
		t.Errorf("lookup parameters = %v, mcp dir = %q, timeout %s", a.tools[1].spec.Parameters, a.tools[3].mcp.dir, a.tools[3].mcp.timeout)
	}
	if got := a.tools[0].backing.(*stepTool).resources; !got["kb"] || len(got) != 1 {
		t.Errorf("resources used by search_kb = %v, want kb", got)
	}
}

func TestNewDiagnostics(t *testing.T) {
	tests := []struct {
		name  string
		tools string
		want  []string
	}{
		{"not a list", "name: x", []string{"f.yaml:10:1: steps.a.tools: tools must be a list of tools"}},
		{"unknown key", "- {name: a, description: d, flow: a.yaml, parameter: {}}", []string{
			`f.yaml:10:43: steps.a.tools[0].parameter: unknown key "parameter" in a tool (did you mean "parameters"?)`}},
		{"no name, no description", "- {flow: a.yaml}", []string{
			"f.yaml:10:3: steps.a.tools[0]: a tool needs a name",
			"f.yaml:10:3: steps.a.tools[0]: tool without a name needs a description"}},
		{"bad name", "- {name: 'get weather', description: d, flow: a.yaml}", []string{
			`f.yaml:10:10: steps.a.tools[0].name: tool name "get weather" may use only letters, digits, _ and - (at most 64)`}},
		{"no backing", "- {name: a, description: d}", []string{`f.yaml:10:3: steps.a.tools[0]: tool "a" has no backing`}},
		{"two backings", "- {name: a, description: d, flow: a.yaml, http: {}}", []string{
			`f.yaml:10:3: steps.a.tools[0]: tool "a" has 2 backings (flow, http); give exactly one`}},
		{"duplicate", "- {name: a, description: d, flow: a.yaml}\n- {name: a, description: e, flow: b.yaml}", []string{
			`f.yaml:11:3: steps.a.tools[1]: tool "a" is declared twice`}},
		{"invalid schema", "- {name: a, description: d, flow: a.yaml, parameters: {properties: {q: {type: strin}}}}", []string{
			"f.yaml:10:55: steps.a.tools[0].parameters: parameters is not a valid JSON Schema: "}},
		{"schema not an object", "- {name: a, description: d, flow: a.yaml, parameters: {type: string}}", []string{
			"f.yaml:10:55: steps.a.tools[0].parameters: parameters must be a schema of type object, got type string"}},
		{"expression in description", "- {name: a, description: '${ vars.d }', flow: a.yaml}", []string{
			"f.yaml:10:26: steps.a.tools[0].description: tool descriptions are static; expressions are not evaluated there"}},
		{"http without allowed hosts", "- {name: a, description: d, http: {url: 'https://x.example/a'}}", []string{
			"f.yaml:10:35: steps.a.tools[0].http: an http tool needs allowed_hosts"}},
		{"http host not allowed", "- {name: a, description: d, http: {url: 'https://evil.example/a', allowed_hosts: [api.example.com]}}", []string{
			`f.yaml:10:41: steps.a.tools[0].http.url: url host "evil.example" is not in allowed_hosts (api.example.com)`}},
		{"http port not allowed", "- {name: a, description: d, http: {url: 'http://127.0.0.1:9/a', allowed_hosts: ['127.0.0.1:8080']}}", []string{
			`f.yaml:10:41: steps.a.tools[0].http.url: url host "127.0.0.1:9" is not in allowed_hosts (127.0.0.1:8080)`}},
		{"http placeholder in host", "- {name: a, description: d, parameters: {properties: {h: {type: string}}}, http: {url: 'https://{{ args.h }}.example.com/', allowed_hosts: ['*.example.com']}}", []string{
			"f.yaml:10:88: steps.a.tools[0].http.url: url placeholders may appear only in the path and query, not in the host"}},
		{"http placeholder not a parameter", "- {name: a, description: d, parameters: {properties: {city: {type: string}}}, http: {url: 'https://x.example/{{ args.cty }}', allowed_hosts: [x.example]}}", []string{
			`f.yaml:10:91: steps.a.tools[0].http.url: url placeholder args.cty is not a parameter of the tool (did you mean "city"?)`}},
		{"http dot segment in the url", "- {name: a, description: d, http: {url: 'https://x.example/a/%2E%2E/b', allowed_hosts: [x.example]}}", []string{
			`f.yaml:10:41: steps.a.tools[0].http.url: url path "/a/../b" has a . or .. segment; write the path it stands for`}},
		{"http bad range", "- {name: a, description: d, http: {url: 'https://x.example/', allowed_hosts: [x.example, 10.0.0.0/33]}}", []string{
			`f.yaml:10:90: steps.a.tools[0].http.allowed_hosts[1]: allowed host "10.0.0.0/33" is not a host name: give host, host:port, *.domain, an IP address or a CIDR range such as 10.0.0.0/8`}},
		{"http expression url", "- {name: a, description: d, http: {url: 'https://x.example/${ args.q }', allowed_hosts: [x.example]}}", []string{
			"f.yaml:10:41: steps.a.tools[0].http.url: url uses ${ }; http tools take {{ args.name }} placeholders"}},
		{"http bad method and host entry", "- {name: a, description: d, http: {method: BREW, url: 'https://x.example/', allowed_hosts: ['https://x.example']}}", []string{
			`f.yaml:10:44: steps.a.tools[0].http.method: method "BREW" is not one of "GET", "POST", "PUT", "PATCH" or "DELETE"`,
			`f.yaml:10:93: steps.a.tools[0].http.allowed_hosts[0]: allowed host "https://x.example" is not a host name: give host, host:port, *.domain, an IP address or a CIDR range such as 10.0.0.0/8`}},
		{"step without uses", "- {name: a, description: d, step: {with: {}}}", []string{
			`f.yaml:10:35: steps.a.tools[0].step: step tool "a" needs uses: (the step kind to run)`}},
		{"step unknown input", "- {name: a, description: d, step: {uses: search, with: {txt: x}}}", []string{
			`f.yaml:10:57: steps.a.tools[0].step.with.txt: search takes no input "txt" (did you mean "text"?)`}},
		{"step unknown kind", "- {name: a, description: d, step: {uses: serch}}", []string{
			`f.yaml:10:42: warning: steps.a.tools[0].step.uses: step kind "serch" is not registered (did you mean "search"?)`}},
		{"step kind with a prompt", "- {name: a, description: d, step: {uses: generate}}", []string{
			`f.yaml:10:42: steps.a.tools[0].step.uses: step kind "generate" takes a prompt, which a step tool cannot give`}},
		{"step model on a kind without one", "- {name: a, description: d, step: {uses: transform, model: cf, with: {expr: 1}}}", []string{
			`f.yaml:10:60: steps.a.tools[0].step.model: step kind "transform" calls no model`}},
		{"template scope", "- {name: a, description: d, step: {uses: search, with: {text: '${ vars.q }'}}}", []string{
			"f.yaml:10:63: steps.a.tools[0].step.with.text: ${ vars.q }: unknown name vars"}},
		{"template argument not a parameter", "- {name: a, description: d, parameters: {properties: {query: {type: string}}}, step: {uses: search, with: {text: '${ upper(args.qury) }'}}}", []string{
			`f.yaml:10:114: steps.a.tools[0].step.with.text: ${ upper(args.qury) }: args.qury is not a parameter of the tool (did you mean "query"?)`}},
		{"step query sql from args", "- {name: a, description: d, parameters: {properties: {q: {type: string}}}, step: {uses: query, with: {sql: 'SELECT 1 WHERE ''${ args.q }''', params: []}}}", []string{
			`f.yaml:10:108: steps.a.tools[0].step.with.sql: sql is written out in tool templates; ${ } is refused`}},
		{"flow not a yaml file", "- {name: a, description: d, flow: ./lookup.json}", []string{
			`f.yaml:10:35: steps.a.tools[0].flow: flow "./lookup.json" is not a flow file`}},
		{"mcp bad timeout", "- {mcp: {command: [x], timeout: soon}}", []string{
			`f.yaml:10:33: steps.a.tools[0].mcp.timeout: timeout "soon" is not a positive duration such as 30s`}},
		{"mcp with a name and no command", "- {name: a, mcp: {env: {A: b}}}", []string{
			"f.yaml:10:10: steps.a.tools[0].name: an mcp entry takes name from the server; remove name:",
			"f.yaml:10:18: steps.a.tools[0].mcp: an mcp server needs command: [program, args...]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Kind.New(newStep(t, tt.tools))
			var got []string
			for _, d := range diags {
				s := d.String()
				if d.Detail != "" {
					s = strings.TrimSuffix(s, ": "+d.Detail)
				}
				got = append(got, s)
			}
			if len(got) == len(tt.want) {
				for i := range got {
					if strings.HasPrefix(got[i], tt.want[i]) {
						got[i] = tt.want[i]
					}
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("diagnostics (-want +got):\n%s", d)
			}
		})
	}
}

// TestQueryToolArgsGoToParams: a query step tool passes the model's arguments as bound
// params, never in the SQL text (see the "step query sql from args" case above).
func TestQueryToolArgsGoToParams(t *testing.T) {
	tools := "- {name: a, description: d, parameters: {properties: {q: {type: string}}}, step: {uses: query, with: {database: '${ resources.db }', sql: 'SELECT text FROM chunks WHERE source = ? AND note = ''$${x}''', params: ['${ args.q }']}}}"
	_, diags := Kind.New(newStep(t, tools))
	if diags.HasErrors() {
		t.Errorf("a query tool with params: %v", diags.Err())
	}
}

func TestNewLimitsAndPrompt(t *testing.T) {
	s := newStep(t, "")
	s.Prompt = nil
	var doc yaml.Node
	yaml.Unmarshal([]byte("0"), &doc)
	s.With = []*spec.Setting{{Key: "max_turns", Value: &spec.Value{Node: doc.Content[0], Path: "steps.a.with.max_turns", Pos: spec.Pos{File: "f.yaml", Line: 5, Col: 18}}}}
	_, diags := Kind.New(s)
	var got []string
	for _, d := range diags {
		got = append(got, d.Severity.String()+": "+d.Summary)
	}
	want := []string{"error: an agent needs a prompt", "warning: the agent has no tools; a generate step does the same", "error: max_turns must be at least 1, got 0"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("diagnostics (-want +got):\n%s", d)
	}
}

// TestTemplateNestingBounded: a tool template nested a million parentheses deep is a
// diagnostic, not a stack overflow in expr-lang's parser.
func TestTemplateNestingBounded(t *testing.T) {
	deep := strings.Repeat("(", 1_000_000) + "args.query" + strings.Repeat(")", 1_000_000)
	tools := strings.Replace(search, "${ args.query }", "${ "+deep+" }", 1)
	_, diags := Kind.New(newStep(t, tools))
	if !diags.HasErrors() {
		t.Fatal("a template nested a million levels deep compiled")
	}
	msg := diags.Err().Error()
	if !strings.Contains(msg, "nest more than") || len(msg) > 2000 {
		t.Errorf("diagnostic should name the nesting limit and quote a clipped expression, got %.300q… (%d bytes)", msg, len(msg))
	}
}
