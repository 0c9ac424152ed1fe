package workersai

import (
	"context"
	"fmt"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
)

// TaskImageToText is the catalogue's task for Workers AI image captioning models
// (llava-1.5-7b-hf, uform-gen2-qwen-500m). They take no messages: a generate step with
// with.images runs them through describeImage.
const TaskImageToText providers.Task = "image-to-text"

// describeParams are the step params an image-to-text model's published input takes
// besides image and prompt.
const describeParams = "max_tokens, temperature"

// describeImage runs an image-to-text model in its published shape, {image: [bytes],
// prompt, max_tokens, temperature} → {description}, and returns the description as the
// text. The prompt is the system and user turns joined; the model reads exactly one
// image and no conversation, tools or JSON schema, so those are refused before sending.
func (p *Provider) describeImage(ctx context.Context, req providers.GenerateRequest) (providers.GenerateResponse, error) {
	body, err := p.describeBody(req)
	if err != nil {
		return providers.GenerateResponse{}, err
	}
	var res struct {
		Description *string `json:"description"`
	}
	meta, err := p.run(ctx, call{task: providers.TaskGenerate, model: req.Model, body: body, gw: req.Gateway}, &res)
	if err != nil {
		return providers.GenerateResponse{}, err
	}
	if res.Description == nil {
		return providers.GenerateResponse{}, invalid(req.Model, "answer has no description")
	}
	out := providers.GenerateResponse{Text: *res.Description, FinishReason: "stop", Usage: usageFor(req.Model, wireUsage{}), Meta: meta}
	if req.Stream != nil && out.Text != "" {
		req.Stream(out.Text)
	}
	return out, nil
}

// describeBody builds the request and refuses what the model does not take.
func (p *Provider) describeBody(req providers.GenerateRequest) (map[string]any, error) {
	switch {
	case len(req.Tools) > 0:
		return nil, invalid(req.Model, "tools: this image-to-text model does not call tools")
	case req.JSONSchema != nil:
		return nil, invalid(req.Model, "json_schema: this image-to-text model answers plain text only")
	}
	var prompt []string
	var image []byte
	images := 0
	for i, m := range req.Messages {
		switch m.Role {
		case "system", "developer", "user":
			if m.Content != "" {
				prompt = append(prompt, m.Content)
			}
		default:
			return nil, invalid(req.Model, fmt.Sprintf("message %d: this image-to-text model takes one prompt, not a conversation (%s turn)", i, m.Role))
		}
		for _, img := range m.Images {
			images++
			image = img.Data
		}
	}
	if images != 1 {
		return nil, invalid(req.Model, fmt.Sprintf("images: this image-to-text model reads exactly one image, got %d", images))
	}
	vals := make([]int, len(image))
	for i, c := range image {
		vals[i] = int(c)
	}
	body := map[string]any{"image": vals, "prompt": strings.Join(prompt, "\n\n")}
	for k := range req.Params {
		if k != "max_tokens" && k != "temperature" {
			return nil, invalid(req.Model, fmt.Sprintf("param %s is not an input of this image-to-text model (it takes %s)", k, describeParams))
		}
	}
	if _, err := applyParams(body, req.Params, p.cfg.maxTokens, false); err != nil {
		return nil, withModel(err, req.Model)
	}
	if ps, ok := catalog.PublishedParams(Kind, req.Model, "image"); ok {
		if err := checkPublished(req.Model, ps, req.Params, "param"); err != nil {
			return nil, err
		}
	}
	return body, nil
}
