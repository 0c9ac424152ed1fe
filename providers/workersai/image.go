package workersai

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg" // image.DecodeConfig reads the size of JPEG answers
	_ "image/png"  // and of PNG ones
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
)

// imageFamily is the request and answer shape of a text-to-image model, from its
// published schema (cloudflare-docs src/content/workers-ai-models/<model>.json).
type imageFamily struct {
	// json: the answer is {"result": {"image": "<base64>"}}; otherwise raw image bytes.
	json bool
	// stepsKey is the name of the diffusion steps input; maxSteps its published maximum.
	stepsKey string
	maxSteps int
	// sd: takes negative_prompt, width/height (256–2048), guidance, strength, image and mask.
	sd bool
}

var (
	// flux-1-schnell.json: input {prompt (1–2048 chars), steps (≤8)}, additionalProperties
	// false; output application/json {image: base64}. (The schema lists no seed.)
	fluxSchnell = imageFamily{json: true, stepsKey: "steps", maxSteps: 8}
	// stable-diffusion-xl-base-1.0, -lightning, dreamshaper-8-lcm, stable-diffusion-v1-5-*
	// .json: input {prompt, negative_prompt, height, width, image, image_b64, mask,
	// num_steps (≤20), strength, guidance, seed}; output image/png, binary.
	stableDiffusion = imageFamily{stepsKey: "num_steps", maxSteps: 20, sd: true}
)

var imageModels = map[string]imageFamily{
	"@cf/black-forest-labs/flux-1-schnell":          fluxSchnell,
	"@cf/stabilityai/stable-diffusion-xl-base-1.0":  stableDiffusion,
	"@cf/bytedance/stable-diffusion-xl-lightning":   stableDiffusion,
	"@cf/lykon/dreamshaper-8-lcm":                   stableDiffusion,
	"@cf/runwayml/stable-diffusion-v1-5-img2img":    stableDiffusion,
	"@cf/runwayml/stable-diffusion-v1-5-inpainting": stableDiffusion,
}

// imageModelIDs lists imageModels' ids, sorted, for Info.Models: validate refuses a
// published text-to-image model outside it rather than send it a request form it does
// not take.
func imageModelIDs() []string {
	ids := make([]string, 0, len(imageModels))
	for id := range imageModels {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// maxImageBytes bounds an input image sent inline (Workers AI's request body limit is
// far above it; an image this large is almost certainly the wrong file).
const maxImageBytes = 10 << 20

// GenerateImage runs a text-to-image model and returns the image, whichever of the two
// published answer shapes the model uses: JSON with a base64 image, or raw PNG bytes.
func (p *Provider) GenerateImage(ctx context.Context, req providers.ImageRequest) (providers.ImageResponse, error) {
	if err := checkModel(req.Model); err != nil {
		return providers.ImageResponse{}, err
	}
	fam, known := imageModels[req.Model]
	if !known {
		return providers.ImageResponse{}, invalid(req.Model, fmt.Sprintf("aiflow has no request form for this text-to-image model; it builds %s",
			strings.Join(imageModelIDs(), ", ")))
	}
	body, err := imageBody(fam, req)
	if err != nil {
		return providers.ImageResponse{}, invalid(req.Model, err.Error())
	}
	resp, err := p.send(ctx, call{task: providers.TaskImage, model: req.Model, body: body, gw: req.Gateway})
	if err != nil {
		return providers.ImageResponse{}, err
	}
	defer resp.Body.Close()
	meta := p.meta(resp, req.Model)
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return providers.ImageResponse{}, p.fail(req.Model, fmt.Errorf("reading response: %w", err))
	}
	if len(raw) > maxResponse {
		return providers.ImageResponse{}, invalid(req.Model, fmt.Sprintf("answer larger than %d bytes", maxResponse))
	}
	data, mt, err := p.imageAnswer(req.Model, resp, raw)
	if err != nil {
		return providers.ImageResponse{}, err
	}
	return providers.ImageResponse{Data: data, MediaType: mt, Meta: meta, Usage: imageUsage(req, data)}, nil
}

// imageBody builds the request from the family's published inputs and refuses what the
// model does not take, naming the input.
func imageBody(fam imageFamily, req providers.ImageRequest) (map[string]any, error) {
	if strings.TrimSpace(req.Prompt) == "" {
		return nil, fmt.Errorf("prompt is empty")
	}
	body := map[string]any{"prompt": req.Prompt}
	if req.Steps != 0 {
		if req.Steps < 1 || (fam.maxSteps > 0 && req.Steps > fam.maxSteps) {
			return nil, fmt.Errorf("steps must be 1 to %d for this model, got %d", fam.maxSteps, req.Steps)
		}
		body[fam.stepsKey] = req.Steps
	}
	if !fam.sd {
		for name, set := range map[string]bool{"negative_prompt": req.NegativePrompt != "", "width": req.Width != 0, "height": req.Height != 0,
			"guidance": req.Guidance != 0, "strength": req.Strength != 0, "seed": req.Seed != nil, "image": req.Image != nil, "mask": req.Mask != nil} {
			if set {
				return nil, fmt.Errorf("%s is not an input of this model (it takes prompt and steps)", name)
			}
		}
		if len(req.Prompt) > 2048 {
			return nil, fmt.Errorf("prompt is %d characters; this model takes at most 2048", len(req.Prompt))
		}
		return body, nil
	}
	if req.NegativePrompt != "" {
		body["negative_prompt"] = req.NegativePrompt
	}
	for name, v := range map[string]int{"width": req.Width, "height": req.Height} {
		if v == 0 {
			continue
		}
		if v < 256 || v > 2048 {
			return nil, fmt.Errorf("%s must be 256 to 2048 pixels, got %d", name, v)
		}
		body[name] = v
	}
	if req.Guidance != 0 {
		body["guidance"] = req.Guidance
	}
	if req.Strength != 0 {
		if req.Strength < 0 || req.Strength > 1 {
			return nil, fmt.Errorf("strength must be between 0 and 1, got %g", req.Strength)
		}
		body["strength"] = req.Strength
	}
	if req.Seed != nil {
		body["seed"] = *req.Seed
	}
	if req.Mask != nil && req.Image == nil {
		return nil, fmt.Errorf("mask needs image (inpainting changes the masked part of an input image)")
	}
	for name, b := range map[string][]byte{"image": req.Image, "mask": req.Mask} {
		if b == nil {
			continue
		}
		if len(b) > maxImageBytes {
			return nil, fmt.Errorf("%s has %d bytes; the limit is %d", name, len(b), maxImageBytes)
		}
		body[name] = byteArray(b)
	}
	return body, nil
}

// byteArray is the published form of image and mask: an array of 0–255 integers.
func byteArray(b []byte) []int {
	out := make([]int, len(b))
	for i, x := range b {
		out[i] = int(x)
	}
	return out
}

// imageAnswer reads either shape: an image/* body is the image; JSON is the Cloudflare
// envelope whose result.image is base64.
func (p *Provider) imageAnswer(model string, resp *http.Response, raw []byte) ([]byte, string, error) {
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if strings.HasPrefix(ct, "image/") {
		if len(raw) == 0 {
			return nil, "", invalid(model, "answer is an empty image")
		}
		return raw, ct, nil
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		if sniffed := http.DetectContentType(raw); strings.HasPrefix(sniffed, "image/") {
			return raw, sniffed, nil // raw bytes without a Content-Type
		}
		return nil, "", p.badResponse(model, err, raw)
	}
	if !env.Success || len(env.Errors) > 0 {
		return nil, "", p.envelopeError(model, resp.StatusCode, env.Errors)
	}
	var res struct {
		Image *string `json:"image"`
	}
	if err := p.decode(model, env.Result, &res); err != nil {
		return nil, "", err
	}
	if res.Image == nil || *res.Image == "" {
		return nil, "", invalid(model, "answer has no image")
	}
	data, err := base64.StdEncoding.DecodeString(*res.Image)
	if err != nil {
		return nil, "", invalid(model, "answer's image is not base64: "+err.Error())
	}
	mt := http.DetectContentType(data)
	if !strings.HasPrefix(mt, "image/") {
		return nil, "", invalid(model, "answer's image is "+mt+", not an image")
	}
	return data, mt, nil
}

// imageUsage prices one image from the catalogue's per-tile and per-step prices
// (flux-1-schnell: 4.80 neurons per 512x512 tile, 9.60 per step). Tiles are counted on
// the image that came back, whose size the answer shows.
func imageUsage(req providers.ImageRequest, data []byte) providers.Usage {
	u := providers.Usage{Requests: 1}
	m, ok := catalog.Lookup(Kind, req.Model)
	if !ok {
		return u
	}
	w, h := req.Width, req.Height
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil {
		w, h = cfg.Width, cfg.Height
	}
	u.USD, u.Neurons = m.ImageCost(req.Steps, w, h)
	return u
}

// ClassifyImage runs an image classifier (resnet-50: {image: [0–255…]} → a bare array of
// {label, score}) and returns the scores best first.
func (p *Provider) ClassifyImage(ctx context.Context, req providers.ClassifyImageRequest) (providers.ClassifyImageResponse, error) {
	if err := checkModel(req.Model); err != nil {
		return providers.ClassifyImageResponse{}, err
	}
	switch {
	case len(req.Image) == 0:
		return providers.ClassifyImageResponse{}, invalid(req.Model, "image is empty")
	case len(req.Image) > maxImageBytes:
		return providers.ClassifyImageResponse{}, invalid(req.Model, fmt.Sprintf("image has %d bytes; the limit is %d", len(req.Image), maxImageBytes))
	}
	var scores []providers.LabelScore
	meta, err := p.run(ctx, call{task: providers.TaskClassifyImage, model: req.Model, body: map[string]any{"image": byteArray(req.Image)}, gw: req.Gateway}, &scores)
	if err != nil {
		return providers.ClassifyImageResponse{}, err
	}
	if len(scores) == 0 {
		return providers.ClassifyImageResponse{}, invalid(req.Model, "answer has no labels")
	}
	sort.SliceStable(scores, func(i, j int) bool { return scores[i].Score > scores[j].Score })
	u := providers.Usage{Requests: 1}
	if m, ok := catalog.Lookup(Kind, req.Model); ok {
		u.Neurons = m.NeuronsPerImage
		u.USD = u.Neurons * catalog.NeuronUSD()
	}
	return providers.ClassifyImageResponse{Scores: scores, Usage: u, Meta: meta}, nil
}
