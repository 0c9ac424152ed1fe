package workersai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

const (
	flux = "@cf/black-forest-labs/flux-1-schnell"
	sdxl = "@cf/stabilityai/stable-diffusion-xl-base-1.0"
)

// TestGenerateImageBothShapes: FLUX.1 schnell's JSON answer with a base64 image and
// SDXL's raw PNG body both come back as PNG bytes; the request carries only the inputs
// each model's published schema takes (the emulator refuses others), and FLUX's usage is
// priced per 512x512 tile of the returned image and per step.
func TestGenerateImageBothShapes(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	seed := int64(7)
	tests := []struct {
		name    string
		req     providers.ImageRequest
		wantW   int
		neurons float64
	}{
		{"flux json base64", providers.ImageRequest{Model: flux, Prompt: "a red fox", Steps: 4}, 1024, 4*4.80 + 4*9.60},
		{"flux default steps", providers.ImageRequest{Model: flux, Prompt: "a red fox"}, 1024, 4*4.80 + 4*9.60},
		{"sdxl raw png", providers.ImageRequest{Model: sdxl, Prompt: "a red fox", NegativePrompt: "blur", Steps: 10, Width: 512, Height: 768, Seed: &seed, Guidance: 7.5}, 64, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.GenerateImage(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.MediaType != "image/png" {
				t.Errorf("media type %q", resp.MediaType)
			}
			cfg, err := png.DecodeConfig(bytes.NewReader(resp.Data))
			if err != nil || cfg.Width != tt.wantW {
				t.Fatalf("answer is not the emulator's PNG: %v, %+v", err, cfg)
			}
			if math.Abs(resp.Usage.Neurons-tt.neurons) > 1e-9 || resp.Usage.Requests != 1 {
				t.Errorf("usage = %+v, want %v neurons", resp.Usage, tt.neurons)
			}
		})
	}
	var sent map[string]any
	for _, r := range cf.Requests() {
		if strings.HasSuffix(r.Path, sdxl) {
			json.Unmarshal(r.Body, &sent)
		}
	}
	if sent["num_steps"] != 10.0 || sent["negative_prompt"] != "blur" || sent["seed"] != 7.0 || sent["steps"] != nil {
		t.Errorf("sdxl request = %v", sent)
	}
}

// TestGenerateImageRefusesInputs: inputs a model does not publish are refused before a
// request, naming the input.
func TestGenerateImageRefusesInputs(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	seed := int64(1)
	tests := []struct {
		name string
		req  providers.ImageRequest
		want string
	}{
		{"flux takes no seed", providers.ImageRequest{Model: flux, Prompt: "x", Seed: &seed}, "seed is not an input of this model"},
		{"flux takes no width", providers.ImageRequest{Model: flux, Prompt: "x", Width: 512}, "width is not an input of this model"},
		{"flux steps max 8", providers.ImageRequest{Model: flux, Prompt: "x", Steps: 9}, "steps must be 1 to 8"},
		{"sd steps max 20", providers.ImageRequest{Model: sdxl, Prompt: "x", Steps: 21}, "steps must be 1 to 20"},
		{"sd width range", providers.ImageRequest{Model: sdxl, Prompt: "x", Width: 100}, "width must be 256 to 2048"},
		{"mask without image", providers.ImageRequest{Model: sdxl, Prompt: "x", Mask: []byte{1}}, "mask needs image"},
		{"empty prompt", providers.ImageRequest{Model: sdxl, Prompt: " "}, "prompt is empty"},
		{"published model without a request form", providers.ImageRequest{Model: "@cf/leonardo/phoenix-1.0", Prompt: "x"}, "no request form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.GenerateImage(context.Background(), tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if n := cf.Images(); n != 0 {
		t.Errorf("%d images were generated (paid for) for refused requests", n)
	}
}
