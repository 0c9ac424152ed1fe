package wiretest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"net/http"
)

// Text-to-image models answer in one of two published shapes (cloudflare-docs
// src/content/workers-ai-models/*.json): flux-1-schnell's output is
// {"contentType": "application/json", "properties": {"image": base64 string}}, inside the
// usual envelope; stable-diffusion-xl-base-1.0, -lightning and dreamshaper-8-lcm answer
// {"contentType": "image/png", "format": "binary"}: the PNG bytes as the body.

// cfFluxInputs are flux-1-schnell's inputs (additionalProperties: false).
var cfFluxInputs = map[string]bool{"prompt": true, "steps": true}

// cfSDInputs are the Stable Diffusion models' inputs.
var cfSDInputs = map[string]bool{"prompt": true, "negative_prompt": true, "height": true, "width": true, "image": true,
	"image_b64": true, "mask": true, "num_steps": true, "strength": true, "guidance": true, "seed": true}

// imageFlux serves flux-1-schnell: prompt 1–2048 characters, steps ≤ 8; a 1024x1024 PNG.
func (cf *Cloudflare) imageFlux(w http.ResponseWriter, c *cfCall, run CFRun) {
	for k := range run.Input {
		if !cfFluxInputs[k] {
			cfBadInput(w, fmt.Sprintf("Additional property '%s' is not allowed at '/'", k))
			return
		}
	}
	prompt, bad := cfImagePrompt(run.Input, 2048)
	if bad == "" {
		bad = cfIntAt(run.Input, "steps", 0, 8)
	}
	if bad != "" {
		cfBadInput(w, bad)
		return
	}
	if !cf.answer(c) {
		return
	}
	cf.images.Add(1)
	cfOK(w, cf.result(run, func() any {
		return map[string]any{"image": base64.StdEncoding.EncodeToString(CFImage(run.Model, prompt, 1024, 1024))}
	}))
}

// imageSD serves the Stable Diffusion models: the PNG itself, width × height (default
// 1024), image/mask as arrays of 0–255 numbers.
func (cf *Cloudflare) imageSD(w http.ResponseWriter, c *cfCall, run CFRun) {
	for k := range run.Input {
		if !cfSDInputs[k] {
			cfBadInput(w, fmt.Sprintf("Unknown property '%s' at '/'", k))
			return
		}
	}
	prompt, bad := cfImagePrompt(run.Input, 0)
	for _, check := range []func() string{
		func() string { return cfIntAt(run.Input, "num_steps", 0, 20) },
		func() string { return cfIntAt(run.Input, "width", 256, 2048) },
		func() string { return cfIntAt(run.Input, "height", 256, 2048) },
		func() string { return cfByteArray(run.Input, "image") },
		func() string { return cfByteArray(run.Input, "mask") },
	} {
		if bad == "" {
			bad = check()
		}
	}
	if bad != "" {
		cfBadInput(w, bad)
		return
	}
	if !cf.answer(c) {
		return
	}
	cf.images.Add(1)
	width, height := 1024, 1024
	if v, ok := run.Input["width"].(float64); ok {
		width = int(v)
	}
	if v, ok := run.Input["height"].(float64); ok {
		height = int(v)
	}
	w.Header().Set("Content-Type", "image/png")
	w.WriteHeader(http.StatusOK)
	w.Write(CFImage(run.Model, prompt, width/8, height/8)) // small, like a thumbnail: tests need bytes, not pixels
}

// Images counts the images the emulator generated (paid for).
func (cf *Cloudflare) Images() int { return int(cf.images.Load()) }

func cfImagePrompt(in map[string]any, max int) (string, string) {
	p, ok := in["prompt"].(string)
	switch {
	case in["prompt"] == nil:
		return "", "required properties at '/' are 'prompt'"
	case !ok:
		return "", "Type mismatch of '/prompt', 'string' not in " + cfTypeName(in["prompt"])
	case p == "":
		return "", "String is too short at '/prompt' (minLength 1)"
	case max > 0 && len(p) > max:
		return "", fmt.Sprintf("String is too long at '/prompt' (maxLength %d)", max)
	}
	return p, ""
}

// cfIntAt checks an optional integer between min and max (max 0: no maximum).
func cfIntAt(in map[string]any, key string, min, max int) string {
	v, ok := in[key]
	if !ok {
		return ""
	}
	f, isNum := v.(float64)
	if !isNum || f != float64(int(f)) {
		return fmt.Sprintf("Type mismatch of '/%s', 'integer' not in %s", key, cfTypeName(v))
	}
	if int(f) < min || (max > 0 && int(f) > max) {
		return fmt.Sprintf("Value of '/%s' must be between %d and %d", key, min, max)
	}
	return ""
}

// cfByteArray checks an optional array of numbers 0–255.
func cfByteArray(in map[string]any, key string) string {
	v, ok := in[key]
	if !ok {
		return ""
	}
	arr, isArr := v.([]any)
	if !isArr {
		return fmt.Sprintf("Type mismatch of '/%s', 'array' not in %s", key, cfTypeName(v))
	}
	for i, x := range arr {
		f, isNum := x.(float64)
		if !isNum || f < 0 || f > 255 {
			return fmt.Sprintf("Value at '/%s/%d' must be a number between 0 and 255", key, i)
		}
	}
	return ""
}

// CFImage is the emulator's deterministic image: a PNG of one colour picked from model
// and prompt.
func CFImage(model, prompt string, width, height int) []byte {
	h := fnv.New32a()
	h.Write([]byte(model + "\x00" + prompt))
	s := h.Sum32()
	img := image.NewRGBA(image.Rect(0, 0, max(width, 1), max(height, 1)))
	c := color.RGBA{uint8(s), uint8(s >> 8), uint8(s >> 16), 255}
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// classifyImage serves resnet-50 (resnet-50.json): {"image": [0–255 numbers]} → a bare
// array of {label, score}. The labels are ImageNet classes picked from the image's bytes.
func (cf *Cloudflare) classifyImage(w http.ResponseWriter, c *cfCall, run CFRun) {
	img, ok := run.Input["image"].([]any)
	if run.Input["image"] == nil {
		cfBadInput(w, "required properties at '/' are 'image'")
		return
	}
	if bad := cfByteArray(run.Input, "image"); bad != "" || !ok || len(img) == 0 {
		cfBadInput(w, "oneOf at '/' not met: image must be a non-empty array of numbers 0–255")
		return
	}
	if !cf.answer(c) {
		return
	}
	h := fnv.New32a()
	for _, x := range img {
		h.Write([]byte{byte(x.(float64))})
	}
	labels := []string{"TABBY", "EGYPTIAN CAT", "TIGER CAT", "LYNX", "RED FOX"}
	first := int(h.Sum32() % uint32(len(labels)))
	cfOK(w, cf.result(run, func() any {
		out := make([]map[string]any, 0, 3)
		for i, score := range []float64{0.71, 0.18, 0.05} {
			out = append(out, map[string]any{"label": labels[(first+i)%len(labels)], "score": score})
		}
		return out
	}))
}
