package schemacheck_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/internal/schemacheck"
	"github.com/aiflow/aiflow/spec"
)

// snippet is a small flow: a step body (under steps.s) or extra top-level YAML.
type snippet struct {
	name string
	top  string // top-level keys added before steps:
	step string // the body of step s, indented 4 spaces; default a transform step
	want verdict
}

const transformStep = "uses: transform\n    with: {expr: 1}"

var snippets = []snippet{
	{name: "timeout zero", step: transformStep + "\n    timeout: 0", want: valid},
	{name: "timeout days", step: transformStep + "\n    timeout: 1.5d", want: valid},
	{name: "timeout without unit", step: transformStep + "\n    timeout: 30", want: invalid},
	{name: "timeout negative", step: transformStep + "\n    timeout: -1s", want: invalid},
	{name: "cache false", step: transformStep + "\n    cache: false", want: valid},
	{name: "cache on", step: transformStep + "\n    cache: on", want: valid},
	{name: "cache ttl shorthand", step: transformStep + "\n    cache: 7d", want: valid},
	{name: "cache empty mapping", step: transformStep + "\n    cache: {}", want: valid},
	{name: "cache mode off", step: transformStep + "\n    cache: {mode: off}", want: valid},
	{name: "cache null", step: transformStep + "\n    cache: ~", want: invalid},
	{name: "cache mode false", step: transformStep + "\n    cache: {mode: false}", want: invalid},
	{name: "retry null", step: transformStep + "\n    retry: ~", want: valid},
	{name: "retry unknown key", step: transformStep + "\n    retry: {tries: 2}", want: invalid},
	{name: "needs scalar", step: transformStep + "\n    needs: t", want: valid},
	{name: "needs unknown", step: transformStep + "\n    needs: [1]", want: semantic},
	{name: "when null", step: transformStep + "\n    when: ~", want: invalid},
	{name: "when bool", step: transformStep + "\n    when: false", want: valid},
	{name: "for_each null", step: transformStep + "\n    for_each: ~", want: valid},
	{name: "for_each mapping", step: transformStep + "\n    for_each: {a: 1}", want: invalid},
	{name: "continue_on_error string", step: transformStep + "\n    continue_on_error: \"true\"", want: invalid},
	{name: "parallelism string", step: transformStep + "\n    parallelism: \"2\"", want: invalid},
	{name: "description number", step: transformStep + "\n    description: 5", want: valid},
	{name: "uses expression", step: "uses: ${ vars.kind }\n    with: {expr: 1}", want: invalid},
	{name: "int input from string", step: "uses: chunk\n    with: {text: a, size: \"400\"}", want: valid},
	{name: "int input integral float", step: "uses: chunk\n    with: {text: a, size: 400.0}", want: valid},
	{name: "int input fraction", step: "uses: chunk\n    with: {text: a, size: 1.5}", want: invalid},
	{name: "string input from number", step: "uses: chunk\n    with: {text: 42}", want: valid},
	{name: "string input list", step: "uses: chunk\n    with: {text: [a]}", want: invalid},
	{name: "enum input number", step: "uses: chunk\n    with: {text: a, unit: 5}", want: invalid},
	{name: "optional input null", step: "uses: chunk\n    with: {text: a, size: ~}", want: valid},
	{name: "input expression", step: "uses: chunk\n    with: {text: a, size: \"${ 4 * 100 }\"}", want: valid},
	{name: "interpolated enum input", step: "uses: chunk\n    with: {text: a, unit: \"${ 'to' }kens\"}", want: valid},
	{name: "with null and a required input", step: "uses: chunk\n    with: ~", want: invalid},
	{name: "bool input from string", step: "uses: generate\n    model: o:m\n    prompt: hi\n    with: {truncate: \"true\"}", top: ollama, want: valid},
	{name: "bool input yes", step: "uses: generate\n    model: o:m\n    prompt: hi\n    with: {truncate: \"yes\"}", top: ollama, want: invalid},
	{name: "strings input numbers", step: "uses: classify\n    with: {text: a, labels: [1, 2]}", want: invalid},
	{name: "strings input", step: "uses: classify\n    with: {text: a, labels: [good, bad]}", want: valid},
	{name: "resource input string", step: "uses: search\n    with: {index: kb, text: q}", top: kb, want: invalid},
	{name: "resource input mapping", step: "uses: search\n    with: {index: {name: kb}, text: q}", top: kb, want: valid},
	{name: "resource input expression", step: "uses: search\n    with: {index: \"${ resources.kb }\", text: q}", top: kb, want: valid},
	{name: "prompt user and file", step: "uses: generate\n    model: o:m\n    prompt: {user: hi, file: x.md}", top: ollama, want: invalid},
	{name: "prompt messages scalar", step: "uses: generate\n    model: o:m\n    prompt: {messages: hello}", top: ollama, want: invalid},
	{name: "prompt messages expression", step: "uses: generate\n    model: o:m\n    prompt: {messages: \"${ vars.m }\"}", top: ollama + "vars:\n  m: []\n", want: valid},
	{name: "generate with route", step: "uses: generate\n    route: r\n    prompt: hi", top: ollama + "models:\n  m: o:x\nroutes:\n  r:\n    rules: [{use: m}]\n", want: valid},
	{name: "embed batch without for_each", step: "uses: embed\n    batch: 4\n    with: {text: a}", want: invalid},
	{name: "embed batch", step: "uses: embed\n    batch: 4\n    for_each: [a, b]\n    with: {text: \"${ each.value }\"}", want: valid},
	{name: "transform batch", step: transformStep + "\n    batch: 4\n    for_each: [a]", want: invalid},
	{name: "aiflow string", top: "", step: transformStep, want: invalid},
	{name: "var required", top: "vars:\n  x: ~\n", step: transformStep, want: valid},
	{name: "var list shorthand", top: "vars:\n  x: [1, 2]\n", step: transformStep, want: valid},
	{name: "var integer default float", top: "vars:\n  n: {type: integer, default: 2.0}\n", step: transformStep, want: valid},
	{name: "var integer default string", top: "vars:\n  n: {type: integer, default: \"2\"}\n", step: transformStep, want: invalid},
	{name: "var string default number", top: "vars:\n  s: {type: string, default: 2}\n", step: transformStep, want: invalid},
	{name: "var typed default expression", top: "vars:\n  n: {type: integer, default: \"${ 1 + 1 }\"}\n", step: transformStep, want: valid},
	{name: "var typed null default", top: "vars:\n  n: {type: integer, default: ~}\n", step: transformStep, want: invalid},
	{name: "var empty enum", top: "vars:\n  n: {enum: []}\n", step: transformStep, want: invalid},
	{name: "var secret string", top: "vars:\n  n: {secret: \"yes\"}\n", step: transformStep, want: invalid},
	{name: "var bad name", top: "vars:\n  1x: 1\n", step: transformStep, want: invalid},
	{name: "output bad name", top: "outputs:\n  bad-name: 1\n", step: transformStep, want: invalid},
	{name: "model empty id", top: "models:\n  m: \"local:\"\n", step: transformStep, want: invalid},
	{name: "model expression", top: "models:\n  m: \"${ vars.m }:x\"\n", step: transformStep, want: invalid},
	{name: "split", top: "models:\n  m: local:x\nroutes:\n  r:\n    split: {m: 1}\n", step: transformStep, want: valid},
	{name: "split negative weight", top: "models:\n  m: local:x\nroutes:\n  r:\n    split: {m: -1}\n", step: transformStep, want: invalid},
	{name: "rule without use", top: "routes:\n  r:\n    rules: [{when: \"true\"}]\n", step: transformStep, want: invalid},
	{name: "route unknown key", top: "models:\n  m: local:x\nroutes:\n  r:\n    rules: [{use: m}]\n    order: 1\n", step: transformStep, want: invalid},
	{name: "budget null", top: "budget: ~\n", step: transformStep, want: valid},
	{name: "budget string", top: "budget: {usd: ten}\n", step: transformStep, want: invalid},
	{name: "defaults timeout", top: "defaults: {timeout: 1m}\n", step: transformStep, want: valid},
	{name: "defaults unknown key", top: "defaults: {when: \"true\"}\n", step: transformStep, want: invalid},
	{name: "provider without kind", top: "providers:\n  p: {dimensions: 8}\n", step: transformStep, want: invalid},
	{name: "provider secret from env", top: "providers:\n  cf:\n    kind: workers-ai\n    account_id: abc\n    api_token: ${ env(\"AIFLOW_TEST_TOKEN\") }\n", step: transformStep, want: valid},
	{name: "provider secret from var", top: "vars:\n  t: x\nproviders:\n  cf:\n    kind: workers-ai\n    account_id: abc\n    api_token: ${ vars.t }\n", step: transformStep, want: invalid},
	{name: "resource without kind", top: "resources:\n  kb: {dimensions: 8}\n", step: transformStep, want: invalid},
	{name: "vector-index dimensions string", top: "resources:\n  kb: {kind: vector-index, dimensions: \"768\"}\n", step: transformStep, want: invalid},
	{name: "vector-index dimensions expression", top: "vars:\n  d: 8\nresources:\n  kb: {kind: vector-index, dimensions: \"${ vars.d }\"}\n", step: transformStep, want: valid},
	{name: "vector-index model expression", top: "vars:\n  m: x\nresources:\n  kb: {kind: vector-index, dimensions: 8, model: \"${ vars.m }\"}\n", step: transformStep, want: invalid},
	{name: "steps list", top: "", step: "", want: invalid},
}

const (
	ollama = "providers:\n  o:\n    kind: openai\n    base_url: http://localhost:11434/v1\n"
	kb     = "resources:\n  kb: {kind: vector-index, dimensions: 8}\n"
)

func (s snippet) source() string {
	version := "aiflow: 1\n"
	if s.name == "aiflow string" {
		version = "aiflow: \"1\"\n"
	}
	if s.name == "steps list" {
		return version + "steps: [a]\n"
	}
	return version + s.top + "steps:\n  t:\n    " + transformStep + "\n  s:\n    " + s.step + "\n"
}

// TestSnippetsAgree holds the schema and the Go validator to the same verdict on small
// flows that probe each rule's edges (conversions, nulls, expressions).
func TestSnippetsAgree(t *testing.T) {
	c := checker(t)
	for _, s := range snippets {
		t.Run(s.name, func(t *testing.T) {
			src := s.source()
			f, diags := spec.Parse(filepath.Join(t.TempDir(), "flow.yaml"), []byte(src))
			if !diags.HasErrors() {
				_, more := engine.Compile(f, engine.Options{LookupEnv: lookupEnv})
				diags = append(diags, more...)
			}
			if goOK, want := !diags.HasErrors(), s.want == valid; goOK != want {
				t.Errorf("Go validator: valid=%v, want %v:\n%s\n%v", goOK, want, src, diags.Errors())
			}
			err := c.Check([]byte(src))
			var se *schemacheck.SyntaxError
			if errors.As(err, &se) {
				t.Fatalf("not plain data: %v", err)
			}
			if schemaOK, want := err == nil, s.want != invalid; schemaOK != want {
				t.Errorf("schema: valid=%v, want %v:\n%s\n%v", schemaOK, want, src, strings.TrimSpace(errString(err)))
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
