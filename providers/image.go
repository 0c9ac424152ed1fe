package providers

import "context"

// TaskImage is text-to-image and image-to-image generation (the generate-image step).
const TaskImage Task = "generate-image"

// ImageRequest asks for one image. Zero fields are left to the model's defaults; the
// provider refuses inputs its model's published schema does not take (a mask for a
// model without inpainting, steps above its maximum).
type ImageRequest struct {
	Model          string
	Prompt         string
	NegativePrompt string
	Steps          int // diffusion steps (num_steps for Stable Diffusion models)
	Guidance       float64
	Strength       float64 // img2img: 0..1, how far from the input image
	Width, Height  int
	Seed           *int64
	Image          []byte // img2img input (PNG or JPEG bytes)
	Mask           []byte // inpainting mask
	Gateway        *GatewayOptions
}

// ImageResponse is the generated image.
type ImageResponse struct {
	Data      []byte
	MediaType string // image/png, image/jpeg…
	Usage     Usage
	Meta      Meta
}

// ImageGenerator serves TaskImage.
type ImageGenerator interface {
	GenerateImage(ctx context.Context, req ImageRequest) (ImageResponse, error)
}

// TaskClassifyImage is image classification (the classify-image step).
const TaskClassifyImage Task = "classify-image"

// ClassifyImageRequest asks for the labels of one image.
type ClassifyImageRequest struct {
	Model   string
	Image   []byte // PNG, JPEG, …
	Gateway *GatewayOptions
}

// ClassifyImageResponse holds the model's labels, best first.
type ClassifyImageResponse struct {
	Scores []LabelScore
	Usage  Usage
	Meta   Meta
}

// ImageClassifier serves TaskClassifyImage.
type ImageClassifier interface {
	ClassifyImage(ctx context.Context, req ClassifyImageRequest) (ClassifyImageResponse, error)
}
