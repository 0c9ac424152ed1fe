package local

import (
	"context"
	"fmt"

	"github.com/aiflow/aiflow/providers"
)

// Classify scores req.Text. Without labels it runs VADER sentiment (local/vader); with
// labels it ranks them by lexical similarity (local/zero-shot). Scores come best first.
func (p *Provider) Classify(ctx context.Context, req providers.ClassifyRequest) (providers.ClassifyResponse, error) {
	if err := ctx.Err(); err != nil {
		return providers.ClassifyResponse{}, fmt.Errorf("local classify: %w", err)
	}
	if len(req.Labels) == 0 {
		model, err := checkModel(providers.TaskClassify, req.Model, ModelVADER, ModelZeroShot)
		if err != nil {
			return providers.ClassifyResponse{}, err
		}
		if model == ModelZeroShot {
			return providers.ClassifyResponse{}, badRequest(model, "zero-shot classification needs labels")
		}
		scores, meta := sentiment(req.Text)
		meta["model"] = model
		return providers.ClassifyResponse{Scores: scores, Usage: usage(req.Text, ""), Meta: meta}, nil
	}
	model, err := checkModel(providers.TaskClassify, req.Model, ModelZeroShot, ModelVADER)
	if err != nil {
		return providers.ClassifyResponse{}, err
	}
	if model == ModelVADER {
		return providers.ClassifyResponse{}, badRequest(model,
			"VADER has the fixed labels POSITIVE, NEGATIVE and NEUTRAL; drop labels or use %s", ModelZeroShot)
	}
	labels, err := parseLabels(req.Labels)
	if err != nil {
		return providers.ClassifyResponse{}, badRequest(model, "%v", err)
	}
	return providers.ClassifyResponse{
		Scores: zeroShot(req.Text, labels),
		Usage:  usage(req.Text, ""),
		Meta:   providers.Meta{"model": model},
	}, nil
}
