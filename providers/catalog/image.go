package catalog

import "math"

// DefaultImageSide is the side, in pixels, that image estimates assume when a request
// gives no size: FLUX.1 schnell and SDXL draw 1024x1024 by default.
const DefaultImageSide = 1024

// ImagePriced reports whether ImageCost can price m: a price per image, or neuron rates
// per tile or step.
func (m Model) ImagePriced() bool {
	return m.Free || m.USDPerImage > 0 || m.NeuronsPerTile > 0 || m.NeuronsPerStep > 0
}

// ImageCost prices one generated image of width × height pixels (0: DefaultImageSide)
// made in steps diffusion steps (0: the model's default): neurons per 512x512 tile plus
// per step, in USD at the neuron price. A model priced per image (OpenAI) costs its
// USDPerImage whatever the steps and size.
func (m Model) ImageCost(steps, width, height int) (usd, neurons float64) {
	if m.USDPerImage > 0 {
		return m.USDPerImage, 0
	}
	if steps <= 0 {
		steps = m.DefaultSteps
	}
	if width <= 0 {
		width = DefaultImageSide
	}
	if height <= 0 {
		height = DefaultImageSide
	}
	tiles := math.Ceil(float64(width)/512) * math.Ceil(float64(height)/512)
	neurons = tiles*m.NeuronsPerTile + float64(steps)*m.NeuronsPerStep
	return neurons * NeuronUSD(), neurons
}
