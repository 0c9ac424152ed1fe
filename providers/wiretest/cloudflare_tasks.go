package wiretest

import (
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strings"
)

// cfMaxEmbedTexts is the bge schemas' maxItems.
const cfMaxEmbedTexts = 100

// embed serves bge embeddings: {"text": string | [string], "pooling"} → {shape, data, pooling}.
func (cf *Cloudflare) embed(w http.ResponseWriter, c *cfCall, run CFRun, m cfModel) {
	texts, bad := cfEmbedTexts(run.Input["text"])
	if bad != "" {
		cfBadInput(w, bad)
		return
	}
	pooling := "mean"
	if p, ok := run.Input["pooling"]; ok {
		s, _ := p.(string)
		if s != "mean" && s != "cls" {
			cfBadInput(w, "Value of '/pooling' must be one of mean, cls")
			return
		}
		pooling = s
	}
	if !cf.answer(c) {
		return
	}
	cfOK(w, cf.result(run, func() any {
		data := make([][]float32, len(texts))
		for i, t := range texts {
			data[i] = CFEmbedding(run.Model, pooling, t, m.dims)
		}
		return map[string]any{"shape": []int{len(texts), m.dims}, "data": data, "pooling": pooling}
	}))
}

// cfEmbedTexts validates `text`: a non-empty string or 1–100 non-empty strings.
func cfEmbedTexts(v any) ([]string, string) {
	switch t := v.(type) {
	case nil:
		return nil, "required properties at '/' are 'text'"
	case string:
		if t == "" {
			return nil, "String is too short at '/text' (minLength 1)"
		}
		return []string{t}, ""
	case []any:
		if len(t) == 0 || len(t) > cfMaxEmbedTexts {
			return nil, fmt.Sprintf("Array at '/text' must have 1 to %d items, has %d", cfMaxEmbedTexts, len(t))
		}
		out := make([]string, len(t))
		for i, item := range t {
			s, ok := item.(string)
			if !ok || s == "" {
				return nil, fmt.Sprintf("String is too short or not a string at '/text/%d' (minLength 1)", i)
			}
			out[i] = s
		}
		return out, ""
	}
	return nil, "Type mismatch of '/text', 'string' or 'array' not in " + cfTypeName(v)
}

// CFEmbedding is the emulator's deterministic embedding: feature hashing of the lowercased
// words (so texts sharing words are close), salted with model and pooling, L2-normalised.
func CFEmbedding(model, pooling, text string, dims int) []float32 {
	v := make([]float64, dims)
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	})
	if len(words) == 0 {
		words = []string{text}
	}
	for _, word := range words {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s|%s|%s", model, pooling, word)
		sum := h.Sum64()
		sign := 1.0
		if sum>>63 == 1 {
			sign = -1
		}
		v[sum%uint64(dims)] += sign
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, dims)
	for i, x := range v {
		out[i] = float32(x / math.Sqrt(norm))
	}
	return out
}

// summarize serves bart: {"input_text", "max_length"} → {"summary"}: the first sentence,
// cut to max_length words.
func (cf *Cloudflare) summarize(w http.ResponseWriter, c *cfCall, run CFRun) {
	text, bad := cfString(run.Input, "input_text")
	maxLen := 1024
	if v, ok := run.Input["max_length"]; ok && bad == "" {
		f, isNum := v.(float64)
		if !isNum || f != math.Trunc(f) || f < 1 {
			bad = "Type mismatch of '/max_length', 'integer' not in " + cfTypeName(v)
		}
		maxLen = int(f)
	}
	if bad != "" {
		cfBadInput(w, bad)
		return
	}
	if !cf.answer(c) {
		return
	}
	cfOK(w, cf.result(run, func() any {
		first, _, _ := strings.Cut(text, ". ")
		words := strings.Fields(first)
		if len(words) > maxLen {
			words = words[:maxLen]
		}
		return map[string]any{"summary": strings.Join(words, " ")}
	}))
}

// translate serves m2m100: {"text", "source_lang" (default en), "target_lang"} →
// {"translated_text": "[<target>] <text>"}.
func (cf *Cloudflare) translate(w http.ResponseWriter, c *cfCall, run CFRun) {
	text, bad := cfString(run.Input, "text")
	target := ""
	if bad == "" {
		target, bad = cfString(run.Input, "target_lang")
	}
	if bad != "" {
		cfBadInput(w, bad)
		return
	}
	if !cf.answer(c) {
		return
	}
	cfOK(w, cf.result(run, func() any {
		return map[string]any{"translated_text": "[" + target + "] " + text}
	}))
}

var (
	cfPositive = map[string]bool{"good": true, "great": true, "love": true, "excellent": true, "happy": true, "wonderful": true, "best": true, "nice": true}
	cfNegative = map[string]bool{"bad": true, "terrible": true, "hate": true, "awful": true, "sad": true, "worst": true, "poor": true, "broken": true}
)

// classify serves distilbert-sst-2: {"text"} → a bare array, NEGATIVE first, scored by a
// tiny lexicon.
func (cf *Cloudflare) classify(w http.ResponseWriter, c *cfCall, run CFRun) {
	text, bad := cfString(run.Input, "text")
	if bad != "" {
		cfBadInput(w, bad)
		return
	}
	if !cf.answer(c) {
		return
	}
	cfOK(w, cf.result(run, func() any {
		pos, neg := 0.0, 0.0
		for _, word := range strings.Fields(strings.ToLower(text)) {
			word = strings.Trim(word, ".,!?;:\"'")
			if cfPositive[word] {
				pos++
			}
			if cfNegative[word] {
				neg++
			}
		}
		p := (pos + 0.5) / (pos + neg + 1)
		return []any{map[string]any{"label": "NEGATIVE", "score": 1 - p}, map[string]any{"label": "POSITIVE", "score": p}}
	}))
}
