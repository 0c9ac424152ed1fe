// Package generateimage implements the "generate-image" step kind: text-to-image, and
// image-to-image or inpainting with an input image (and mask), through a model that
// serves the generate-image task (Workers AI's FLUX.1 schnell, SDXL, SDXL Lightning,
// DreamShaper). The image is kept in the run's blob store and the step's output holds
// it by reference.
package generateimage

import (
	"context"
	"fmt"
	"math"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/capability"
)

func init() { steps.MustRegister(Kind) }

// maxInputImage bounds an input image or mask: it is sent inline in the request.
const maxInputImage = 10 << 20

// Kind describes the generate-image step to the registry.
var Kind = steps.Kind{
	Name:    "generate-image",
	Summary: "Generate an image from a prompt (and optionally an input image and mask).",
	Task:    providers.TaskImage,
	Inputs: []steps.Field{
		{Name: "prompt", Type: steps.String, Required: true, Doc: "What the image should show."},
		{Name: "negative_prompt", Type: steps.String, Doc: "What to keep out of the image (Stable Diffusion models)."},
		{Name: "steps", Type: steps.Int, Doc: "Diffusion steps: up to 8 for FLUX.1 schnell (default 4), up to 20 for Stable Diffusion models (num_steps)."},
		{Name: "guidance", Type: steps.Number, Doc: "How closely to follow the prompt (Stable Diffusion; default 7.5)."},
		{Name: "width", Type: steps.Int, Doc: "Width in pixels, 256 to 2048 (Stable Diffusion)."},
		{Name: "height", Type: steps.Int, Doc: "Height in pixels, 256 to 2048 (Stable Diffusion)."},
		{Name: "seed", Type: steps.Int, Doc: "Random seed, for a reproducible image (Stable Diffusion)."},
		{Name: "image", Type: steps.Blob, Doc: "An input image for image-to-image, e.g. ${ blob(\"sketch.png\") } (Stable Diffusion)."},
		{Name: "mask", Type: steps.Blob, Doc: "An inpainting mask over image: the part to repaint (Stable Diffusion inpainting)."},
		{Name: "strength", Type: steps.Number, Doc: "Image-to-image: 0 to 1, how far the result may move from the input image."},
	},
	Outputs: []steps.Field{
		{Name: "image", Type: steps.Blob, Doc: "The generated image (a blob: media_type, size, sha256); write it out with --output-dir or store it with bucket-put."},
	},
	Keys:    []string{"model", "route"},
	Version: "1",
	New:     func(*spec.Step) (steps.Step, spec.Diagnostics) { return generator{}, nil },
}

type generator struct{}

var _ steps.Step = generator{}

// Run asks the routed model for an image and stores it.
func (generator) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	g, err := capability.Of[providers.ImageGenerator](call.Model, providers.TaskImage)
	if err != nil {
		return steps.Result{}, err
	}
	req, err := request(call)
	if err != nil {
		return steps.Result{}, err
	}
	resp, err := g.GenerateImage(ctx, req)
	if err != nil {
		return steps.Result{}, fmt.Errorf("generating an image with %s: %w", call.Model.Ref(), err)
	}
	img, err := steps.Blobs(call.Env).PutBytes(resp.Data, "", blob.Base(resp.MediaType))
	if err != nil {
		return steps.Result{Usage: resp.Usage}, err
	}
	return steps.Result{Output: map[string]any{"image": img.Value()}, Usage: resp.Usage, Meta: resp.Meta, ModelRef: call.Model.Ref()}, nil
}

// request reads the inputs; image and mask must be images.
func request(call *steps.Call) (providers.ImageRequest, error) {
	in := call.Inputs
	req := providers.ImageRequest{Model: call.Model.ID, Gateway: call.Model.Gateway}
	req.Prompt, _ = in["prompt"].(string)
	req.NegativePrompt, _ = in["negative_prompt"].(string)
	req.Steps, _ = in["steps"].(int)
	req.Width, _ = in["width"].(int)
	req.Height, _ = in["height"].(int)
	req.Guidance, _ = in["guidance"].(float64)
	req.Strength, _ = in["strength"].(float64)
	if s, ok := in["seed"].(int); ok {
		seed := int64(s)
		req.Seed = &seed
	}
	if math.IsNaN(req.Guidance) || math.IsNaN(req.Strength) {
		return req, fmt.Errorf("guidance and strength must be numbers")
	}
	var err error
	if req.Image, err = imageInput(call, "image"); err != nil {
		return req, err
	}
	if req.Mask, err = imageInput(call, "mask"); err != nil {
		return req, err
	}
	return req, nil
}

// imageInput reads an image blob input, refusing audio, documents and empty files.
func imageInput(call *steps.Call, name string) ([]byte, error) {
	v, ok := call.Inputs[name]
	if !ok || v == nil {
		return nil, nil
	}
	b, ok := blob.FromValue(v)
	if !ok {
		return nil, fmt.Errorf("%s: expected an image blob such as ${ blob(\"photo.png\") }, got %s", name, spec.DescribeValue(v))
	}
	if blob.Kind(b.MediaType) != "image" {
		return nil, fmt.Errorf("%s: expected an image, got %s (%s)", name, b.MediaType, blob.HumanSize(b.Size))
	}
	if b.Size == 0 {
		return nil, fmt.Errorf("%s: the image is empty (0 bytes)", name)
	}
	return steps.Blobs(call.Env).ReadAll(b, maxInputImage, name)
}
