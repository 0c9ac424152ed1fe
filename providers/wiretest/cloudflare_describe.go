package wiretest

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
)

// cfDescribeFields are the properties of the image-to-text models' published input
// (llava-1.5-7b-hf.json, uform-gen2-qwen-500m.json): {image (required), prompt,
// max_tokens, temperature, raw}.
var cfDescribeFields = map[string]bool{"image": true, "prompt": true, "max_tokens": true, "temperature": true, "raw": true}

// describeImage serves the image-to-text models: {"image": [0–255 numbers], "prompt"} →
// {"description": CFImageDescription(image, prompt)}. Chat-shaped bodies (messages) are
// refused as the published schema does not take them.
func (cf *Cloudflare) describeImage(w http.ResponseWriter, c *cfCall, run CFRun) {
	var unknown []string
	for k := range run.Input {
		if !cfDescribeFields[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	img, _ := run.Input["image"].([]any)
	switch {
	case len(unknown) > 0:
		cfBadInput(w, fmt.Sprintf("oneOf at '/' not met: unknown property '%s'", unknown[0]))
		return
	case run.Input["image"] == nil:
		cfBadInput(w, "required properties at '/' are 'image'")
		return
	case cfByteArray(run.Input, "image") != "" || len(img) == 0:
		cfBadInput(w, "oneOf at '/' not met: image must be a non-empty array of numbers 0–255")
		return
	}
	if p, ok := run.Input["prompt"]; ok {
		if _, isStr := p.(string); !isStr {
			cfBadInput(w, "Type mismatch of '/prompt', 'string' not in "+cfTypeName(p))
			return
		}
	}
	if v, ok := run.Input["max_tokens"]; ok {
		if n, isNum := v.(float64); !isNum || n != float64(int(n)) {
			cfBadInput(w, "Type mismatch of '/max_tokens', 'integer' not in "+cfTypeName(v))
			return
		}
	}
	if !cf.answer(c) {
		return
	}
	data := make([]byte, len(img))
	for i, x := range img {
		data[i] = byte(x.(float64))
	}
	prompt, _ := run.Input["prompt"].(string)
	cfOK(w, cf.result(run, func() any {
		return map[string]any{"description": CFImageDescription(data, prompt)}
	}))
}

// CFImageDescription is the emulator's caption of an image: a subject picked from the
// image's bytes, and the prompt it answered.
func CFImageDescription(image []byte, prompt string) string {
	h := fnv.New32a()
	h.Write(image)
	subjects := []string{"a red fox in the snow", "a lighthouse at dawn", "a tabby cat on a sofa", "a bowl of fruit"}
	return fmt.Sprintf("The image shows %s. (asked: %q)", subjects[h.Sum32()%uint32(len(subjects))], prompt)
}
