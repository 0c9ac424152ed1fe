package openai

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	oai "github.com/openai/openai-go/v3"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/providers/internal/sdkprovider"
)

// imageSizes are the sizes each image model takes (OpenAI OpenAPI, CreateImageRequest
// size): the first is the default when a request gives none. A model missing here is
// refused rather than sent a request it may not take.
var imageSizes = map[string][]string{
	"dall-e-3":    {"1024x1024", "1792x1024", "1024x1792"},
	"gpt-image-1": {"1024x1024", "1536x1024", "1024x1536"},
}

// maxImageAnswer bounds a decoded image (a 1792x1024 PNG is a few MB).
const maxImageAnswer = 32 << 20

// GenerateImage asks POST /images/generations for one image as base64 (dall-e-3 needs
// response_format b64_json; gpt-image-1 always answers base64 and rejects the field).
// Inputs these models do not take (negative prompt, steps, guidance, strength, seed,
// input image, mask) are refused, naming the input.
func (p *Provider) GenerateImage(ctx context.Context, req providers.ImageRequest) (providers.ImageResponse, error) {
	params, err := imageParams(req)
	if err != nil {
		return providers.ImageResponse{}, p.requestError(req.Model, err)
	}
	var httpResp *http.Response
	opts, err := p.requestOptions(req.Gateway, &httpResp)
	if err != nil {
		return providers.ImageResponse{}, p.requestError(req.Model, err)
	}
	resp, err := p.images.Generate(ctx, params, opts...)
	if err != nil {
		return providers.ImageResponse{}, p.wrapError(err, req.Model)
	}
	if len(resp.Data) != 1 || resp.Data[0].B64JSON == "" {
		return providers.ImageResponse{}, p.outputError(req.Model, "bad_response", fmt.Sprintf("asked for one base64 image, got %d images", len(resp.Data)))
	}
	b64 := resp.Data[0].B64JSON
	if base64.StdEncoding.DecodedLen(len(b64)) > maxImageAnswer {
		return providers.ImageResponse{}, p.outputError(req.Model, "bad_response", fmt.Sprintf("image larger than %d bytes", maxImageAnswer))
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return providers.ImageResponse{}, p.outputError(req.Model, "bad_response", "b64_json is not base64: "+err.Error())
	}
	out := providers.ImageResponse{Data: data, MediaType: http.DetectContentType(data),
		Meta: sdkprovider.ResponseMeta(httpResp, req.Model, metaHeaders)}
	out.Usage = providers.Usage{Requests: 1, InputTokens: int(resp.Usage.InputTokens), OutputTokens: int(resp.Usage.OutputTokens)}
	if m, ok := catalog.Lookup(Kind, req.Model); ok {
		out.Usage.USD, out.Usage.Neurons = m.ImageCost(req.Steps, req.Width, req.Height)
	}
	return out, nil
}

// imageParams checks the request against the model's inputs and builds the params.
func imageParams(req providers.ImageRequest) (oai.ImageGenerateParams, error) {
	params := oai.ImageGenerateParams{Model: req.Model, Prompt: req.Prompt, N: oai.Int(1)}
	sizes, known := imageSizes[req.Model]
	switch {
	case req.Model == "":
		return params, fmt.Errorf("no model given")
	case !known:
		return params, fmt.Errorf("aiflow has no request form for this image model; it builds dall-e-3, gpt-image-1")
	case strings.TrimSpace(req.Prompt) == "":
		return params, fmt.Errorf("prompt is empty")
	}
	for _, in := range []struct {
		name string
		set  bool
	}{{"negative_prompt", req.NegativePrompt != ""}, {"steps", req.Steps != 0}, {"guidance", req.Guidance != 0},
		{"strength", req.Strength != 0}, {"seed", req.Seed != nil}, {"image", req.Image != nil}, {"mask", req.Mask != nil}} {
		if in.set {
			return params, fmt.Errorf("%s is not an input of %s (it takes prompt, width and height)", in.name, req.Model)
		}
	}
	if req.Width != 0 || req.Height != 0 {
		size := fmt.Sprintf("%dx%d", req.Width, req.Height)
		ok := false
		for _, s := range sizes {
			ok = ok || s == size
		}
		if !ok {
			return params, fmt.Errorf("width x height %s is not a size of %s (it takes %s)", size, req.Model, strings.Join(sizes, ", "))
		}
		params.Size = oai.ImageGenerateParamsSize(size)
	}
	if strings.HasPrefix(req.Model, "dall-e") {
		params.ResponseFormat = oai.ImageGenerateParamsResponseFormatB64JSON
	}
	return params, nil
}
