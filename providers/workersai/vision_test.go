package workersai_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

const vision = "@cf/meta/llama-3.2-11b-vision-instruct"

// The published schema of llama-3.2-11b-vision-instruct takes string messages and one
// top-level image as an array of byte values.
func TestGenerateVisionImage(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	png := []byte{0x89, 'P', 'N', 'G', 0, 255}
	req := providers.GenerateRequest{Model: vision, Messages: []providers.Message{
		{Role: "user", Content: "What is this?", Images: []providers.Image{{MediaType: "image/png", Data: png}}}}}
	if _, err := p.Generate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	checkSent(t, cf, map[string]any{
		"messages": []any{map[string]any{"role": "user", "content": "What is this?"}},
		"image":    []any{137.0, 80.0, 78.0, 71.0, 0.0, 255.0},
	})
}

func TestGenerateVisionRefusesTwoImages(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	img := providers.Image{MediaType: "image/png", Data: []byte{1}}
	req := providers.GenerateRequest{Model: vision, Messages: []providers.Message{
		{Role: "user", Content: "Compare", Images: []providers.Image{img, img}}}}
	_, err := p.Generate(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "one image per request") {
		t.Fatalf("err = %v, want one image per request", err)
	}
	if n := len(cf.Requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

func TestGenerateVisionRefusedOnChatCompletions(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	req := providers.GenerateRequest{Model: "@cf/openai/gpt-oss-20b", Messages: []providers.Message{
		{Role: "user", Content: "What is this?", Images: []providers.Image{{MediaType: "image/png", Data: []byte{1}}}}}}
	_, err := p.Generate(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "takes no images") {
		t.Fatalf("err = %v, want takes no images", err)
	}
	if n := len(cf.Requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}
