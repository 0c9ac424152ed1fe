package generate

import (
	"fmt"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// MaxImage bounds each image of with.images: images travel inline (base64 or byte
// arrays) in the request body, so a bigger one would only be refused by the provider
// after a long upload.
const MaxImage = 10 << 20

// visionInput is the with: field that carries images for vision models. It has no
// default, so that a step without images keeps the cache key it had before the field.
var visionInput = steps.Field{Name: "images", Type: steps.List,
	Doc: "Images (blobs) sent with the user turn to a vision model, e.g. [${ blob(\"cat.png\") }]: " +
		"Workers AI vision models (@cf/meta/llama-3.2-11b-vision-instruct, one image), Workers AI image-to-text models " +
		"(@cf/llava-hf/llava-1.5-7b-hf, @cf/unum/uform-gen2-qwen-500m: one image, the prompt, answered with a description), OpenAI and Anthropic. " +
		"Each must be an image of at most 10 MiB."}

// attachImages reads the images of with.images from the blob store and attaches them to
// the last user turn, where every provider expects them.
func attachImages(call *steps.Call, msgs []providers.Message) ([]providers.Message, error) {
	list, _ := call.Inputs["images"].([]any)
	if len(list) == 0 {
		return msgs, nil
	}
	imgs := make([]providers.Image, 0, len(list))
	for i, v := range list {
		field := fmt.Sprintf("images[%d]", i)
		b, ok := blob.FromValue(v)
		if !ok {
			return nil, fmt.Errorf("%s: expected an image blob such as ${ blob(\"cat.png\") }, got %T", field, v)
		}
		if blob.Kind(b.MediaType) != "image" {
			return nil, fmt.Errorf("%s: expected an image, got %s (%s)", field, b.MediaType, blob.HumanSize(b.Size))
		}
		data, err := steps.Blobs(call.Env).ReadAll(b, MaxImage, field)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, providers.Image{MediaType: blob.Base(b.MediaType), Data: data})
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			out := append([]providers.Message(nil), msgs...)
			out[i].Images = imgs
			return out, nil
		}
	}
	return nil, fmt.Errorf("images: the prompt has no user turn to carry them")
}

var _ steps.ModelChecker = (*generator)(nil)

// imageToText is the catalogue task of the Workers AI captioning models (llava, uform):
// with one image in with.images a generate step runs them in their own request shape.
const imageToText providers.Task = "image-to-text"

// workersAIVision lists the Workers AI chat models that read an image. The published
// input schemas cannot tell: Cloudflare lists an image property on text-only models too
// (llama-3.1-8b-instruct), so the list is kept here.
var workersAIVision = map[string]bool{"@cf/meta/llama-3.2-11b-vision-instruct": true}

// CheckModel refuses with.images for a model that does not read images: a Workers AI
// model the catalogue knows that is not a vision model, or a provider kind without
// vision. Models the catalogue does not know are not checked.
func (g *generator) CheckModel(providerKind, modelID string) spec.Diagnostics {
	if g.images == nil {
		return nil
	}
	var d spec.Diagnostics
	switch providerKind {
	case "openai", "anthropic":
		return nil
	case "workers-ai":
		m, known := catalog.Lookup(providerKind, modelID)
		if !known || workersAIVision[modelID] || m.Task == imageToText {
			return nil
		}
		d.Errorf(g.images.Pos, g.images.Path, "images: model %s does not take images; use a vision model such as @cf/meta/llama-3.2-11b-vision-instruct, "+
			"or an image-to-text model (@cf/llava-hf/llava-1.5-7b-hf, @cf/unum/uform-gen2-qwen-500m) for one image", modelID)
	default:
		d.Errorf(g.images.Pos, g.images.Path, "images: provider kind %s does not take images; use workers-ai (@cf/meta/llama-3.2-11b-vision-instruct), openai or anthropic", providerKind)
	}
	return d
}
