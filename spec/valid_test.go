package spec_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/spec"
)

// TestValidFixtures checks that every flow under testdata/valid parses without any
// diagnostic. Compiling them is the engine's test (engine/validate_test.go).
func TestValidFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "valid", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			f, diags := spec.ParseFile(file)
			if len(diags) > 0 || f == nil {
				t.Fatalf("want no diagnostics, got %v", diags)
			}
		})
	}
}

func mustParse(t *testing.T, file string) *spec.Flow {
	t.Helper()
	f, diags := spec.ParseFile(filepath.Join("testdata", "valid", file))
	if len(diags) > 0 || f == nil {
		t.Fatalf("parse %s: %v", file, diags)
	}
	return f
}

func inputs(s *spec.Step) map[string]any {
	out := map[string]any{}
	for _, in := range s.With {
		out[in.Key] = in.Value.Plain()
	}
	return out
}

// TestAnchorsAndMerges checks that aliases and << merge keys are expanded, with keys
// written beside a merge winning over merged ones.
func TestAnchorsAndMerges(t *testing.T) {
	f := mustParse(t, "anchors.yaml")
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"alias of a mapping", inputs(f.StepByID("small")), map[string]any{
			"text": "${ vars.document }", "size": 40, "overlap": 4, "unit": "chars"}},
		{"merge with override", inputs(f.StepByID("large")), map[string]any{
			"text": "${ vars.document }", "size": 200, "overlap": 4, "unit": "chars", "source": "${ vars.summary_doc }"}},
		{"aliased retry", *f.StepByID("small").Retry, spec.RetryPolicy{Attempts: 3, Backoff: 500 * time.Millisecond, Pos: f.StepByID("small").Retry.Pos}},
		{"merged retry", [2]any{f.StepByID("large").Retry.Attempts, f.StepByID("large").Retry.Backoff}, [2]any{5, 500 * time.Millisecond}},
		{"defaults retry", f.Defaults.Retry.Attempts, 3},
		{"merged var", [3]any{f.VarByName("summary_doc").Type, f.VarByName("summary_doc").Description, f.VarByName("summary_doc").Default.Plain()},
			[3]any{"string", "The same text, under another name.", "Bees dance to tell each other where the flowers are."}},
		{"merge of a list of mappings", inputs(f.StepByID("both"))["expr"], map[string]any{
			"small": "${ steps.small.output.count }", "large": "${ steps.large.output.count }",
			"total": "${ steps.small.output.count + steps.large.output.count }"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestAliasPositions checks that an expanded alias reports where the alias was written,
// so diagnostics about it point at the line that uses it.
func TestAliasPositions(t *testing.T) {
	f := mustParse(t, "anchors.yaml")
	line := 1 + strings.Count(string(f.Source[:strings.Index(string(f.Source), "retry: *retry")]), "\n")
	want := spec.Pos{File: f.File, Line: line, Col: len("    retry: ") + 1}
	if got := f.StepByID("small").Retry.Pos; got != want {
		t.Errorf("retry: *retry is at %v, got position %v", want, got)
	}
}

// TestBlockScalars checks literal and folded block scalars keep their text.
func TestBlockScalars(t *testing.T) {
	f := mustParse(t, "multiline.yaml")
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"folded description", f.Description, "Folded and literal block scalars, with expressions interpolated inside them, kept as one string each.\n"},
		{"literal expr", inputs(f.StepByID("prompt"))["expr"], "You write for ${ vars.audience }.\n\nExplain ${ vars.topic } in three short paragraphs.\nLiteral dollar-brace stays as is: $${ not an expression }.\n"},
		{"folded strip", inputs(f.StepByID("folded"))["expr"], "One long line folded from several about ${ upper(vars.topic) }."},
		{"step description", f.StepByID("prompt").Description, "Builds a prompt text the way a generate step would receive it.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
