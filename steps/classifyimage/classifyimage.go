// Package classifyimage implements the "classify-image" step kind: an image
// classification model (Workers AI's resnet-50) labels an image blob.
package classifyimage

import (
	"context"
	"fmt"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/capability"
)

func init() { steps.MustRegister(Kind) }

// maxImage bounds the image: it is sent inline in the request.
const maxImage = 10 << 20

// Kind describes the classify-image step to the registry.
var Kind = steps.Kind{
	Name:    "classify-image",
	Summary: "Label an image with an image classification model.",
	Task:    providers.TaskClassifyImage,
	Inputs: []steps.Field{
		{Name: "image", Type: steps.Blob, Required: true, Doc: "The image, e.g. ${ blob(\"cat.jpg\") } or a generate-image step's image."},
		{Name: "top_k", Type: steps.Int, Default: 5, Doc: "How many labels to keep, best first (1 to 100)."},
	},
	Outputs: []steps.Field{
		{Name: "label", Type: steps.String, Doc: "The best label."},
		{Name: "score", Type: steps.Number, Doc: "Its score, 0 to 1."},
		{Name: "scores", Type: steps.List, Doc: "Up to top_k {label, score}, best first."},
	},
	Keys:          []string{"model", "route"},
	Version:       "1",
	Deterministic: true,
	New:           func(*spec.Step) (steps.Step, spec.Diagnostics) { return classifier{}, nil },
}

type classifier struct{}

var _ steps.Step = classifier{}

// Run sends the image to the routed model.
func (classifier) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	c, err := capability.Of[providers.ImageClassifier](call.Model, providers.TaskClassifyImage)
	if err != nil {
		return steps.Result{}, err
	}
	b, ok := blob.FromValue(call.Inputs["image"])
	if !ok {
		return steps.Result{}, fmt.Errorf("image: expected an image blob such as ${ blob(\"cat.jpg\") }")
	}
	if blob.Kind(b.MediaType) != "image" {
		return steps.Result{}, fmt.Errorf("image: expected an image, got %s (%s)", b.MediaType, blob.HumanSize(b.Size))
	}
	topK, _ := call.Inputs["top_k"].(int)
	if topK < 1 || topK > 100 {
		return steps.Result{}, fmt.Errorf("top_k: want 1 to 100, got %d", topK)
	}
	data, err := steps.Blobs(call.Env).ReadAll(b, maxImage, "image")
	if err != nil {
		return steps.Result{}, err
	}
	resp, err := c.ClassifyImage(ctx, providers.ClassifyImageRequest{Model: call.Model.ID, Image: data, Gateway: call.Model.Gateway})
	if err != nil {
		return steps.Result{}, fmt.Errorf("classifying an image with %s: %w", call.Model.Ref(), err)
	}
	scores := resp.Scores[:min(topK, len(resp.Scores))]
	list := make([]any, len(scores))
	for i, s := range scores {
		list[i] = map[string]any{"label": s.Label, "score": s.Score}
	}
	out := map[string]any{"label": scores[0].Label, "score": scores[0].Score, "scores": list}
	return steps.Result{Output: out, Usage: resp.Usage, Meta: resp.Meta, ModelRef: call.Model.Ref()}, nil
}
