package wiretest

import "sort"

// cfModel is what the emulator knows about one Workers AI model.
type cfModel struct {
	task       string // generate, embed, summarize, translate, classify, responses, image-json, image-png, image-to-text
	dims       int    // embedding size
	jsonMode   bool
	penaltyMin float64 // lower bound of frequency/presence penalties
	vision     bool    // the published schema takes an image (array of byte values)
}

// cfModels is the emulated Workers AI catalogue.
var cfModels = map[string]cfModel{
	"@cf/meta/llama-3.1-8b-instruct":           {task: "generate", jsonMode: true},
	"@cf/meta/llama-3.1-8b-instruct-fast":      {task: "generate", jsonMode: true},
	"@cf/meta/llama-3.1-8b-instruct-fp8":       {task: "generate"},
	"@cf/meta/llama-3.1-8b-instruct-fp8-fast":  {task: "generate"},
	"@cf/meta/llama-3.3-70b-instruct-fp8-fast": {task: "generate", jsonMode: true, penaltyMin: -2},
	"@cf/meta/llama-3.2-1b-instruct":           {task: "generate"},
	"@cf/meta/llama-3.2-11b-vision-instruct":   {task: "generate", vision: true},
	"@cf/openai/gpt-oss-20b":                   {task: "responses"},
	"@cf/openai/gpt-oss-120b":                  {task: "responses"},
	"@cf/baai/bge-small-en-v1.5":               {task: "embed", dims: 384},
	"@cf/baai/bge-base-en-v1.5":                {task: "embed", dims: 768},
	"@cf/baai/bge-large-en-v1.5":               {task: "embed", dims: 1024},
	"@cf/baai/bge-m3":                          {task: "embed", dims: 1024},
	"@cf/meta/m2m100-1.2b":                     {task: "translate"},
	"@cf/huggingface/distilbert-sst-2-int8":    {task: "classify"},
	"@cf/facebook/bart-large-cnn":              {task: "summarize"},
	// Text-to-image: FLUX.1 schnell answers JSON with a base64 image, the Stable
	// Diffusion models raw PNG bytes (cloudflare_image.go).
	"@cf/black-forest-labs/flux-1-schnell":         {task: "image-json"},
	"@cf/stabilityai/stable-diffusion-xl-base-1.0": {task: "image-png"},
	"@cf/bytedance/stable-diffusion-xl-lightning":  {task: "image-png"},
	"@cf/lykon/dreamshaper-8-lcm":                  {task: "image-png"},
	"@cf/microsoft/resnet-50":                      {task: "classify-image"},
	// Image-to-text: {image, prompt} → {description} (cloudflare_describe.go).
	"@cf/llava-hf/llava-1.5-7b-hf":  {task: "image-to-text"},
	"@cf/unum/uform-gen2-qwen-500m": {task: "image-to-text"},
	// Speech recognition (cloudflare_audio.go).
	"@cf/openai/whisper": {task: "whisper"}, "@cf/openai/whisper-tiny-en": {task: "whisper"},
	"@cf/openai/whisper-large-v3-turbo": {task: "whisper-turbo"},
}

// CFModels lists the model ids the Cloudflare emulator serves, sorted.
func CFModels() []string {
	ids := make([]string, 0, len(cfModels))
	for id := range cfModels {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
