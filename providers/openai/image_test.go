package openai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestGenerateImage: dall-e-3 is asked for b64_json, gpt-image-1 is not (it rejects the
// field); both send n 1 and the size from width x height, decode the PNG and price it
// per image from the catalogue.
func TestGenerateImage(t *testing.T) {
	for _, tc := range []struct {
		model, format string
		w, h          int
		size          string
		usd           float64
	}{
		{"dall-e-3", "b64_json", 1792, 1024, "1792x1024", 0.040},
		{"gpt-image-1", "", 0, 0, "", 0.042},
	} {
		t.Run(tc.model, func(t *testing.T) {
			emu := wiretest.NewOpenAI(t)
			p := newProvider(t, emu, nil)
			resp, err := p.GenerateImage(context.Background(), providers.ImageRequest{Model: tc.model, Prompt: "a red fox", Width: tc.w, Height: tc.h})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(resp.Data, wiretest.OpenAIImagePNG("a red fox")) || resp.MediaType != "image/png" {
				t.Errorf("image = %d bytes %s", len(resp.Data), resp.MediaType)
			}
			if math.Abs(resp.Usage.USD-tc.usd) > 1e-12 || resp.Usage.Requests != 1 {
				t.Errorf("usage = %+v, want usd %v", resp.Usage, tc.usd)
			}
			reqs := emu.Requests()
			if len(reqs) != 1 || !strings.HasSuffix(reqs[0].Path, "/v1/images/generations") {
				t.Fatalf("requests = %+v", reqs)
			}
			var body map[string]any
			if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			rf, _ := body["response_format"].(string)
			size, _ := body["size"].(string)
			if body["model"] != tc.model || body["prompt"] != "a red fox" || body["n"] != 1.0 || rf != tc.format || size != tc.size {
				t.Errorf("body = %v", body)
			}
		})
	}
}

// TestGenerateImageRefused: inputs the models do not take, sizes they do not draw and
// unknown models fail before any request, naming the input.
func TestGenerateImageRefused(t *testing.T) {
	seed := int64(1)
	for _, tc := range []struct {
		name string
		req  providers.ImageRequest
		want string
	}{
		{"steps", providers.ImageRequest{Model: "dall-e-3", Prompt: "x", Steps: 4}, "steps is not an input of dall-e-3"},
		{"seed", providers.ImageRequest{Model: "gpt-image-1", Prompt: "x", Seed: &seed}, "seed is not an input"},
		{"image", providers.ImageRequest{Model: "gpt-image-1", Prompt: "x", Image: []byte{1}}, "image is not an input"},
		{"size", providers.ImageRequest{Model: "dall-e-3", Prompt: "x", Width: 512, Height: 512}, "512x512 is not a size of dall-e-3 (it takes 1024x1024, 1792x1024, 1024x1792)"},
		{"model", providers.ImageRequest{Model: "dall-e-9", Prompt: "x"}, "it builds dall-e-3, gpt-image-1"},
		{"prompt", providers.ImageRequest{Model: "dall-e-3", Prompt: " "}, "prompt is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu := wiretest.NewOpenAI(t)
			p := newProvider(t, emu, nil)
			_, err := p.GenerateImage(context.Background(), tc.req)
			var pe *providers.Error
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if n := len(emu.Requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}
