package spec_test

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/spec"
)

const variantsFlow = `aiflow: 1
name: v
steps:
  hits:
    uses: search
    model: local:a
    with:
      text: q
      mode: vector
    variants:
      hybrid:
        with: { mode: hybrid, top_k: 8 }
      routed:
        route: r
        params: { temperature: 0 }
`

func TestSelectVariant(t *testing.T) {
	for _, tc := range []struct {
		step, variant string
		err           string
		check         func(*spec.Step) string
	}{
		{step: "hits", variant: "hybrid", check: func(s *spec.Step) string {
			if s.Input("mode").Value.Node.Value != "hybrid" || s.Input("top_k") == nil || s.Input("text").Value.Node.Value != "q" || s.Model == nil {
				return "want mode hybrid, top_k added, text and model kept"
			}
			return ""
		}},
		{step: "hits", variant: "routed", check: func(s *spec.Step) string {
			if s.Route == nil || s.Route.Name != "r" || s.Model != nil || s.Params == nil || s.Input("mode").Value.Node.Value != "vector" {
				return "want route r replacing model, params set, inputs kept"
			}
			return ""
		}},
		{step: "hits", variant: "hybird", err: `step "hits" has no variant "hybird" (did you mean "hybrid"?) (variants: hybrid, routed)`},
		{step: "hist", variant: "hybrid", err: `no step "hist" (did you mean "hits"?)`},
	} {
		f, diags := spec.Parse("v.yaml", []byte(variantsFlow))
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if got := f.Steps[0].VariantNames(); strings.Join(got, ",") != "hybrid,routed" {
			t.Fatalf("variants %v", got)
		}
		err := f.SelectVariant(tc.step, tc.variant)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("SelectVariant(%s, %s) = %v, want %q", tc.step, tc.variant, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if msg := tc.check(f.Steps[0]); msg != "" {
			t.Errorf("variant %s: %s", tc.variant, msg)
		}
	}
}

func TestVariantErrors(t *testing.T) {
	src := strings.Replace(variantsFlow, "        params: { temperature: 0 }", "        model: local:b\n        uses: x", 1)
	_, diags := spec.Parse("v.yaml", []byte(src))
	s := diags.Err().Error()
	for _, want := range []string{`v.yaml:16:9: steps.hits.variants.routed.uses: unknown key "uses"`, "a variant takes model or route, not both"} {
		if !strings.Contains(s, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, s)
		}
	}
}
