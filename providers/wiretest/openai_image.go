package wiretest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// openAIImageFields are CreateImageRequest's properties in OpenAI's published OpenAPI.
var openAIImageFields = []string{"prompt", "model", "n", "quality", "response_format", "output_format",
	"output_compression", "stream", "partial_images", "size", "moderation", "background", "style", "user"}

// openAIImageSizes are the sizes each model accepts (CreateImageRequest.size).
var openAIImageSizes = map[string][]string{
	"dall-e-2":    {"256x256", "512x512", "1024x1024"},
	"dall-e-3":    {"1024x1024", "1792x1024", "1024x1792"},
	"gpt-image-1": {"auto", "1024x1024", "1536x1024", "1024x1536"},
}

type oaiImageBody struct {
	Model          string `json:"model"`
	Prompt         string `json:"prompt"`
	N              *int   `json:"n"`
	Size           string `json:"size"`
	ResponseFormat string `json:"response_format"`
}

// imageGenerations serves POST /images/generations with the published ImagesResponse:
// {created, data: [{b64_json, revised_prompt?}], usage?}. The image is a small PNG whose
// colour follows the prompt (OpenAIImagePNG), so a test can compare bytes.
func (o *OpenAI) imageGenerations(w http.ResponseWriter, body []byte) {
	if err := oaiCheckFields(body, openAIImageFields); err != nil {
		o.fail.bad(w, err)
		return
	}
	var req oaiImageBody
	if err := json.Unmarshal(body, &req); err != nil {
		o.fail.bad(w, &oaiBad{msg: "We could not parse the JSON body of your request: " + err.Error()})
		return
	}
	if req.Model == "" {
		req.Model = "dall-e-2"
	}
	sizes, ok := openAIImageSizes[req.Model]
	switch {
	case !ok:
		o.fail.bad(w, &oaiBad{param: "model", msg: fmt.Sprintf("Invalid value for 'model' = %s.", req.Model)})
		return
	case strings.TrimSpace(req.Prompt) == "":
		o.fail.bad(w, &oaiBad{param: "prompt", msg: "Missing required parameter: 'prompt'."})
		return
	case req.Size != "" && !slices.Contains(sizes, req.Size):
		o.fail.bad(w, &oaiBad{param: "size", code: "invalid_value",
			msg: fmt.Sprintf("Invalid value: '%s'. Supported values are: %s.", req.Size, strings.Join(sizes, ", "))})
		return
	case req.N != nil && *req.N != 1 && req.Model == "dall-e-3":
		o.fail.bad(w, &oaiBad{param: "n", msg: "Invalid 'n': dall-e-3 supports only n=1."})
		return
	case req.ResponseFormat != "" && strings.HasPrefix(req.Model, "gpt-image"):
		o.fail.bad(w, &oaiBad{param: "response_format", msg: "Unknown parameter: 'response_format'."})
		return
	}
	item := map[string]any{}
	img := base64.StdEncoding.EncodeToString(OpenAIImagePNG(req.Prompt))
	if strings.HasPrefix(req.Model, "gpt-image") || req.ResponseFormat == "b64_json" {
		item["b64_json"] = img
	} else {
		item["url"] = "https://oaidalleapiprodscus.blob.core.windows.net/private/img.png"
	}
	out := map[string]any{"created": time.Now().Unix(), "data": []any{item}}
	if req.Model == "dall-e-3" {
		item["revised_prompt"] = req.Prompt
	}
	if strings.HasPrefix(req.Model, "gpt-image") {
		in := chatTokens(req.Prompt)
		out["usage"] = map[string]any{"input_tokens": in, "output_tokens": 1056, "total_tokens": in + 1056,
			"input_tokens_details": map[string]any{"text_tokens": in, "image_tokens": 0}}
	}
	raw, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
	_, _ = w.Write(raw)
}

// OpenAIImagePNG is the 8x8 PNG the emulator draws for a prompt: one colour taken from
// the prompt's SHA-256.
func OpenAIImagePNG(prompt string) []byte {
	sum := sha256.Sum256([]byte(prompt))
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			img.Set(x, y, color.RGBA{sum[0], sum[1], sum[2], 255})
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}
