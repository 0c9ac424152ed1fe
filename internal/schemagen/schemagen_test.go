package schemagen

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/providers"
	_ "github.com/aiflow/aiflow/providers/all"
	_ "github.com/aiflow/aiflow/providers/anthropic"
	_ "github.com/aiflow/aiflow/providers/local"
	_ "github.com/aiflow/aiflow/providers/openai"
	_ "github.com/aiflow/aiflow/providers/workersai"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	_ "github.com/aiflow/aiflow/steps/all"
	"github.com/aiflow/aiflow/steps/transform"
)

var update = flag.Bool("update", false, "rewrite ../../schema.json")

const schemaPath = "../../schema.json"

func builtin() Options { return Options{Steps: steps.Default(), Providers: providers.Default()} }

// TestSchemaJSON checks that the committed schema.json is what the built-in catalogue
// generates; -update rewrites it.
func TestSchemaJSON(t *testing.T) {
	got, err := Generate(builtin())
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(schemaPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/schemagen -run TestSchemaJSON -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("schema.json is stale; run go test ./internal/schemagen -run TestSchemaJSON -update (-committed +generated):\n%s", diff)
	}
}

// TestSchemaCompiles checks the generated schema against the 2020-12 meta-schema.
func TestSchemaCompiles(t *testing.T) {
	b, err := Generate(builtin())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile("schema.json"); err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
}

// TestSchemaFollowsRegistries checks that kinds and providers come from the registries
// given, not from the built-in catalogue.
func TestSchemaFollowsRegistries(t *testing.T) {
	sr := steps.NewRegistry()
	if err := sr.Register(transform.Kind); err != nil {
		t.Fatal(err)
	}
	pr := providers.NewRegistry()
	if err := pr.Register(providers.Info{Name: "fake-llm", Summary: "A fake.", Tasks: []providers.Task{providers.TaskGenerate},
		Settings: []providers.SettingField{{Name: "token", Type: "string", Required: true, Secret: true, Doc: "Token."}},
		New:      func(providers.Config) (providers.Provider, error) { return nil, fmt.Errorf("fake") }}); err != nil {
		t.Fatal(err)
	}
	s, err := Schema(Options{Steps: sr, Providers: pr})
	if err != nil {
		t.Fatal(err)
	}
	defs := s["$defs"].(obj)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"uses enum", defs["step"].(obj)["properties"].(obj)["uses"].(obj)["enum"], []string{"transform"}},
		{"provider kinds", defs["provider"].(obj)["properties"].(obj)["kind"].(obj)["enum"], []string{"fake-llm"}},
		{"required setting", defs["provider.fake-llm"].(obj)["required"], []string{"token"}},
		{"secret setting", defs["provider.fake-llm"].(obj)["properties"].(obj)["token"].(obj)["pattern"], envPattern},
		{"required input", defs["with.transform"].(obj)["required"], []string{"expr"}},
		{"input doc", defs["with.transform"].(obj)["properties"].(obj)["expr"].(obj)["description"], transform.Kind.Inputs[0].Doc},
		{"no chunk", defs["step.chunk"], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// stepKeyValues are valid values for each step key, to ask the engine which keys a
// kind without Keys (transform) takes.
var stepKeyValues = map[string]string{
	"description":       "x",
	"with":              "{expr: 1}",
	"model":             "local:x",
	"route":             "r",
	"prompt":            "hi",
	"params":            "{a: 1}",
	"output":            "{schema: {type: object}}",
	"tools":             "[]",
	"when":              "true",
	"for_each":          "[1]",
	"batch":             "2\n    for_each: [1]",
	"parallelism":       "2",
	"max_items":         "2\n    for_each: [1]",
	"needs":             "[]",
	"cache":             "off",
	"retry":             "{attempts: 2}",
	"timeout":           "5s",
	"continue_on_error": "true",
	"variants":          "\n      other:\n        with: { expr: 2 }",
}

func compile(t *testing.T, src string) spec.Diagnostics {
	t.Helper()
	f, diags := spec.Parse(filepath.Join(t.TempDir(), "flow.yaml"), []byte(src))
	if diags.HasErrors() {
		t.Fatalf("parse:\n%s\n%v", src, diags)
	}
	_, diags = engine.Compile(f, engine.Options{})
	return diags
}

func mentions(diags spec.Diagnostics, s string) bool {
	for _, d := range diags {
		if strings.Contains(d.Summary, s) {
			return true
		}
	}
	return false
}

// TestGeneralStepKeysMatchEngine checks generalStepKeys against what the engine lets a
// kind without optional keys take.
func TestGeneralStepKeysMatchEngine(t *testing.T) {
	for _, key := range spec.StepKeys {
		if key == "uses" {
			continue
		}
		t.Run(key, func(t *testing.T) {
			v, ok := stepKeyValues[key]
			if !ok {
				t.Fatalf("no test value for step key %q", key)
			}
			src := "aiflow: 1\nsteps:\n  s:\n    uses: transform\n    " + key + ": " + v + "\n"
			if key != "with" {
				src += "    with: {expr: 1}\n"
			}
			refused := mentions(compile(t, src), "does not take "+key)
			if want := !contains(generalStepKeys, key); refused != want {
				t.Errorf("engine refuses %s on transform: %v; generalStepKeys says %v", key, refused, want)
			}
		})
	}
}

// TestResourceKindsMatchEngine checks resourceKinds against the kinds and settings the
// engine accepts.
func TestResourceKindsMatchEngine(t *testing.T) {
	var kinds []string
	for k := range resourceKinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	diags := compile(t, "aiflow: 1\nresources:\n  r: {kind: zzz}\nsteps:\n  s: {uses: transform, with: {expr: 1}}\n")
	if len(diags) != 1 || diags[0].Detail != "known kinds: "+strings.Join(kinds, ", ") {
		t.Errorf("engine's resource kinds differ from %v: %v", kinds, diags)
	}
	for _, kind := range kinds {
		for _, s := range append(resourceKinds[kind], resourceSetting{Name: "zzz"}) {
			t.Run(kind+"."+s.Name, func(t *testing.T) {
				src := fmt.Sprintf("aiflow: 1\nresources:\n  r:\n    kind: %s\n    %s: ${ vars.v }\n", kind, s.Name)
				if kind == "vector-index" && s.Name != "dimensions" {
					src += "    dimensions: 8\n"
				}
				src += "vars:\n  v: 1\nsteps:\n  s: {uses: transform, with: {expr: 1}}\n"
				diags := compile(t, src)
				if refused, want := mentions(diags, fmt.Sprintf("unknown setting %q", s.Name)), s.Name == "zzz"; refused != want {
					t.Errorf("engine refuses %s on %s: %v, want %v: %v", s.Name, kind, refused, want, diags)
				}
			})
		}
	}
}
