package workersai

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
)

// Summarize runs a summarisation model (bart-large-cnn: input_text, max_length →
// summary). Focus is not supported by abstractive models and is ignored.
func (p *Provider) Summarize(ctx context.Context, req providers.SummarizeRequest) (providers.SummarizeResponse, error) {
	if err := checkModel(req.Model); err != nil {
		return providers.SummarizeResponse{}, err
	}
	if strings.TrimSpace(req.Text) == "" {
		return providers.SummarizeResponse{}, invalid(req.Model, "nothing to summarise: text is empty")
	}
	body := map[string]any{"input_text": req.Text}
	if req.MaxLength > 0 {
		body["max_length"] = req.MaxLength
	}
	var res struct {
		Summary *string `json:"summary"`
	}
	meta, err := p.run(ctx, call{task: providers.TaskSummarize, model: req.Model, body: body, gw: req.Gateway}, &res)
	if err != nil {
		return providers.SummarizeResponse{}, err
	}
	if res.Summary == nil {
		return providers.SummarizeResponse{}, invalid(req.Model, "answer has no summary")
	}
	return providers.SummarizeResponse{Text: *res.Summary, Meta: meta,
		Usage: estimatedUsage(req.Model, meta, []string{req.Text}, *res.Summary)}, nil
}

// Translate runs a translation model (m2m100: text, source_lang, target_lang →
// translated_text). From defaults to the service's "en".
func (p *Provider) Translate(ctx context.Context, req providers.TranslateRequest) (providers.TranslateResponse, error) {
	if err := checkModel(req.Model); err != nil {
		return providers.TranslateResponse{}, err
	}
	switch {
	case req.To == "":
		return providers.TranslateResponse{}, invalid(req.Model, "no target language")
	case req.Text == "":
		return providers.TranslateResponse{}, invalid(req.Model, "nothing to translate: text is empty")
	}
	body := map[string]any{"text": req.Text, "target_lang": req.To}
	if req.From != "" {
		body["source_lang"] = req.From
	}
	var res struct {
		Text *string `json:"translated_text"`
	}
	meta, err := p.run(ctx, call{task: providers.TaskTranslate, model: req.Model, body: body, gw: req.Gateway}, &res)
	if err != nil {
		return providers.TranslateResponse{}, err
	}
	if res.Text == nil {
		return providers.TranslateResponse{}, invalid(req.Model, "answer has no translated_text")
	}
	return providers.TranslateResponse{Text: *res.Text, Meta: meta,
		Usage: estimatedUsage(req.Model, meta, []string{req.Text}, *res.Text)}, nil
}

// Classify runs a text classifier (distilbert-sst-2: text → a bare array of labels and
// scores) and returns the scores best first. Such models have a fixed label set, so
// req.Labels must be empty or name exactly those labels.
func (p *Provider) Classify(ctx context.Context, req providers.ClassifyRequest) (providers.ClassifyResponse, error) {
	if err := checkModel(req.Model); err != nil {
		return providers.ClassifyResponse{}, err
	}
	if err := checkLabels(req); err != nil {
		return providers.ClassifyResponse{}, err
	}
	if req.Text == "" {
		return providers.ClassifyResponse{}, invalid(req.Model, "nothing to classify: text is empty")
	}
	var scores []providers.LabelScore
	meta, err := p.run(ctx, call{task: providers.TaskClassify, model: req.Model, body: map[string]any{"text": req.Text}, gw: req.Gateway}, &scores)
	if err != nil {
		return providers.ClassifyResponse{}, err
	}
	if len(scores) == 0 {
		return providers.ClassifyResponse{}, invalid(req.Model, "answer has no labels")
	}
	sort.SliceStable(scores, func(i, j int) bool { return scores[i].Score > scores[j].Score })
	return providers.ClassifyResponse{Scores: scores, Meta: meta,
		Usage: estimatedUsage(req.Model, meta, []string{req.Text})}, nil
}

// checkLabels accepts no labels or the model's own label set, in any case and order.
func checkLabels(req providers.ClassifyRequest) error {
	if len(req.Labels) == 0 {
		return nil
	}
	m, ok := catalog.Lookup(Kind, req.Model)
	if ok && len(m.Labels) > 0 && sameLabels(req.Labels, m.Labels) {
		return nil
	}
	own := "a fixed label set"
	if ok && len(m.Labels) > 0 {
		own = "the fixed labels " + strings.Join(m.Labels, ", ")
	}
	return invalid(req.Model, fmt.Sprintf("custom labels are not supported: the model has %s (use the local provider's zero-shot classifier for your own labels)", own))
}

func sameLabels(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	set := map[string]bool{}
	for _, l := range b {
		set[strings.ToUpper(l)] = true
	}
	for _, l := range a {
		if !set[strings.ToUpper(l)] {
			return false
		}
	}
	return true
}
