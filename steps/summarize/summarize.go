// Package summarize implements the "summarize" step kind: a summarisation model (such as
// bart-large-cnn, or the local provider's extractive TextRank) condenses a text.
package summarize

import (
	"context"
	"fmt"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/capability"
)

func init() { steps.MustRegister(Kind) }

// Kind describes the summarize step to the registry.
var Kind = steps.Kind{
	Name:    "summarize",
	Summary: "Summarise a text with a summarisation model.",
	Task:    providers.TaskSummarize,
	Inputs: []steps.Field{
		{Name: "text", Type: steps.String, Required: true, Doc: "The text to summarise."},
		{Name: "max_length", Type: steps.Int, Doc: "Longest summary: tokens for model summarisers, sentences for the local extractive one; the provider's default when absent."},
		{Name: "focus", Type: steps.String, Doc: "A question the summary should answer, e.g. a RAG question. The local extractive summariser then returns only sentences that answer it, or exactly \"The documents do not answer this.\" when none does (also for an empty text)."},
	},
	Outputs: []steps.Field{
		{Name: "text", Type: steps.String, Doc: "The summary."},
	},
	Keys:          []string{"model", "route"},
	Version:       "1",
	Deterministic: true,
	New:           func(*spec.Step) (steps.Step, spec.Diagnostics) { return summarizer{}, nil },
}

type summarizer struct{}

var _ steps.Step = summarizer{}

// Run asks the routed model for a summary.
func (summarizer) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	s, err := capability.Of[providers.Summarizer](call.Model, providers.TaskSummarize)
	if err != nil {
		return steps.Result{}, err
	}
	text, _ := call.Inputs["text"].(string)
	maxLen, _ := call.Inputs["max_length"].(int)
	if maxLen < 0 {
		return steps.Result{}, fmt.Errorf("max_length must be positive, got %d", maxLen)
	}
	focus, _ := call.Inputs["focus"].(string)
	resp, err := s.Summarize(ctx, providers.SummarizeRequest{Model: call.Model.ID, Text: text, MaxLength: maxLen, Focus: focus, Gateway: call.Model.Gateway})
	if err != nil {
		return steps.Result{}, fmt.Errorf("summarizing with %s: %w", call.Model.Ref(), err)
	}
	return steps.Result{Output: map[string]any{"text": resp.Text}, Usage: resp.Usage, Meta: resp.Meta, ModelRef: call.Model.Ref()}, nil
}
