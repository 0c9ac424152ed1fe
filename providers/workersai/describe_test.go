package workersai_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestGenerateImageToText: llava and uform take {image: [bytes], prompt, max_tokens} and
// answer {description}, which becomes the text.
func TestGenerateImageToText(t *testing.T) {
	png := []byte{0x89, 'P', 'N', 'G', 0, 255}
	for _, model := range []string{"@cf/llava-hf/llava-1.5-7b-hf", "@cf/unum/uform-gen2-qwen-500m"} {
		t.Run(model, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			p := open(t, cf, nil)
			var streamed string
			req := providers.GenerateRequest{Model: model, Params: map[string]any{"max_tokens": 64}, Stream: func(s string) { streamed += s },
				Messages: []providers.Message{{Role: "system", Content: "Be brief."},
					{Role: "user", Content: "What is this?", Images: []providers.Image{{MediaType: "image/png", Data: png}}}}}
			resp, err := p.Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if want := wiretest.CFImageDescription(png, "Be brief.\n\nWhat is this?"); resp.Text != want || streamed != want {
				t.Errorf("text = %q, streamed %q, want %q", resp.Text, streamed, want)
			}
			checkSent(t, cf, map[string]any{"prompt": "Be brief.\n\nWhat is this?", "max_tokens": 64.0,
				"image": []any{137.0, 80.0, 78.0, 71.0, 0.0, 255.0}})
		})
	}
}

// TestGenerateImageToTextRefused: no image, two images, a conversation, tools, JSON
// output or a param the model does not take fail before any request.
func TestGenerateImageToTextRefused(t *testing.T) {
	img := providers.Image{MediaType: "image/png", Data: []byte{1}}
	user := func(imgs ...providers.Image) providers.Message {
		return providers.Message{Role: "user", Content: "What?", Images: imgs}
	}
	for _, tc := range []struct {
		name string
		req  providers.GenerateRequest
		want string
	}{
		{"no image", providers.GenerateRequest{Messages: []providers.Message{user()}}, "exactly one image, got 0"},
		{"two images", providers.GenerateRequest{Messages: []providers.Message{user(img, img)}}, "exactly one image, got 2"},
		{"conversation", providers.GenerateRequest{Messages: []providers.Message{user(img), {Role: "assistant", Content: "x"}}}, "not a conversation"},
		{"tools", providers.GenerateRequest{Messages: []providers.Message{user(img)}, Tools: []providers.ToolSpec{{Name: "f"}}}, "does not call tools"},
		{"json", providers.GenerateRequest{Messages: []providers.Message{user(img)}, JSONSchema: map[string]any{}}, "plain text only"},
		{"top_p", providers.GenerateRequest{Messages: []providers.Message{user(img)}, Params: map[string]any{"top_p": 0.5}}, "param top_p is not an input of this image-to-text model (it takes max_tokens, temperature)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			p := open(t, cf, nil)
			tc.req.Model = "@cf/llava-hf/llava-1.5-7b-hf"
			_, err := p.Generate(context.Background(), tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if n := len(cf.Requests()); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
}
