// Package translate implements the "translate" step kind: a translation model (such as
// m2m100, or Apertium through the local provider) translates a text between languages
// named by ISO 639-1 codes.
package translate

import (
	"context"
	"fmt"
	"regexp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/capability"
)

func init() { steps.MustRegister(Kind) }

// Kind describes the translate step to the registry.
var Kind = steps.Kind{
	Name:    "translate",
	Summary: "Translate a text with a translation model.",
	Task:    providers.TaskTranslate,
	Inputs: []steps.Field{
		{Name: "text", Type: steps.String, Required: true, Doc: "The text to translate."},
		{Name: "from", Type: steps.String, Default: "en", Doc: "Source language, an ISO 639-1 code such as en."},
		{Name: "to", Type: steps.String, Required: true, Doc: "Target language, an ISO 639-1 code such as es."},
	},
	Outputs: []steps.Field{
		{Name: "text", Type: steps.String, Doc: "The translation."},
		{Name: "from", Type: steps.String, Doc: "The source language code."},
		{Name: "to", Type: steps.String, Doc: "The target language code."},
	},
	Keys:          []string{"model", "route"},
	Version:       "1",
	Deterministic: true,
	New:           func(*spec.Step) (steps.Step, spec.Diagnostics) { return translator{}, nil },
}

type translator struct{}

var _ steps.Step = translator{}

// langRE accepts ISO 639-1 (and 639-3) codes with an optional region or script: en, pt-BR.
var langRE = regexp.MustCompile(`^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?$`)

// Run asks the routed model for a translation.
func (translator) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	tr, err := capability.Of[providers.Translator](call.Model, providers.TaskTranslate)
	if err != nil {
		return steps.Result{}, err
	}
	text, _ := call.Inputs["text"].(string)
	from, _ := call.Inputs["from"].(string)
	to, _ := call.Inputs["to"].(string)
	for _, l := range []struct{ name, code string }{{"from", from}, {"to", to}} {
		if !langRE.MatchString(l.code) {
			return steps.Result{}, fmt.Errorf("%s: %q is not a language code; write an ISO 639-1 code such as en, es or fr", l.name, l.code)
		}
	}
	resp, err := tr.Translate(ctx, providers.TranslateRequest{Model: call.Model.ID, Text: text, From: from, To: to, Gateway: call.Model.Gateway})
	if err != nil {
		return steps.Result{}, fmt.Errorf("translating %s→%s with %s: %w", from, to, call.Model.Ref(), err)
	}
	out := map[string]any{"text": resp.Text, "from": from, "to": to}
	return steps.Result{Output: out, Usage: resp.Usage, Meta: resp.Meta, ModelRef: call.Model.Ref()}, nil
}
