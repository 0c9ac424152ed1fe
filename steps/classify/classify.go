// Package classify implements the "classify" step kind: a classifier scores a text against
// its own labels (sentiment for most models) or against labels the flow gives.
package classify

import (
	"context"
	"fmt"
	"sort"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/capability"
)

func init() { steps.MustRegister(Kind) }

// Kind describes the classify step to the registry.
var Kind = steps.Kind{
	Name:    "classify",
	Summary: "Label a text: sentiment, or the best of the labels given.",
	Task:    providers.TaskClassify,
	Inputs: []steps.Field{
		{Name: "text", Type: steps.String, Required: true, Doc: "The text to classify."},
		{Name: "labels", Type: steps.Strings, Doc: "Candidate labels (zero-shot); without them the model's own labels are used, e.g. POSITIVE and NEGATIVE."},
	},
	Outputs: []steps.Field{
		{Name: "label", Type: steps.String, Doc: "The best label."},
		{Name: "score", Type: steps.Number, Doc: "The best label's score."},
		{Name: "scores", Type: steps.List, Doc: "Every label's {label, score}, best first."},
	},
	Keys:          []string{"model", "route"},
	Version:       "1",
	Deterministic: true,
	New:           func(*spec.Step) (steps.Step, spec.Diagnostics) { return classifier{}, nil },
}

type classifier struct{}

var _ steps.Step = classifier{}

// Run asks the routed model for label scores and reports the best.
func (classifier) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	c, err := capability.Of[providers.Classifier](call.Model, providers.TaskClassify)
	if err != nil {
		return steps.Result{}, err
	}
	text, _ := call.Inputs["text"].(string)
	labels, given := call.Inputs["labels"].([]string)
	if err := checkLabels(labels, given); err != nil {
		return steps.Result{}, err
	}
	resp, err := c.Classify(ctx, providers.ClassifyRequest{Model: call.Model.ID, Text: text, Labels: labels, Gateway: call.Model.Gateway})
	if err != nil {
		return steps.Result{}, fmt.Errorf("classifying with %s: %w", call.Model.Ref(), err)
	}
	if len(resp.Scores) == 0 {
		return steps.Result{}, fmt.Errorf("classifying with %s: the model returned no labels", call.Model.Ref())
	}
	return steps.Result{Output: output(resp.Scores), Usage: resp.Usage, Meta: resp.Meta, ModelRef: call.Model.Ref()}, nil
}

// checkLabels rejects an explicitly empty label list and duplicate or blank labels.
func checkLabels(labels []string, given bool) error {
	if given && len(labels) == 0 {
		return fmt.Errorf("labels: the list is empty; leave labels out to use the model's own labels")
	}
	seen := map[string]bool{}
	for _, l := range labels {
		if l == "" {
			return fmt.Errorf("labels: a label is empty")
		}
		if seen[l] {
			return fmt.Errorf("labels: %q appears twice", l)
		}
		seen[l] = true
	}
	return nil
}

// output sorts the scores best first (ties keep the model's order).
func output(scores []providers.LabelScore) map[string]any {
	sorted := append([]providers.LabelScore(nil), scores...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Score > sorted[j].Score })
	list := make([]any, len(sorted))
	for i, s := range sorted {
		list[i] = map[string]any{"label": s.Label, "score": s.Score}
	}
	return map[string]any{"label": sorted[0].Label, "score": sorted[0].Score, "scores": list}
}
