package catalog

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
)

// TestWholeCatalogue: the published metadata adds every Workers AI model the docs list,
// each with its task and (where published) price; models.json entries keep their prices.
func TestWholeCatalogue(t *testing.T) {
	if n := len(ByProvider("workers-ai")); n < 80 {
		t.Errorf("%d workers-ai models, want ≥ 80", n)
	}
	tests := []struct {
		id        string
		task      providers.Task
		priceUnit string
	}{
		{"@cf/black-forest-labs/flux-1-schnell", providers.TaskImage, ""},
		{"@cf/openai/whisper-large-v3-turbo", "speech-recognition", "per audio minute"},
		{"@cf/microsoft/resnet-50", providers.TaskClassifyImage, "per inference request"},
		{"@cf/meta/llama-3.2-11b-vision-instruct", providers.TaskGenerate, "per M input tokens"},
		{"@cf/baai/bge-m3", providers.TaskEmbed, "per M input tokens"},
		{"@cf/meta/m2m100-1.2b", providers.TaskTranslate, ""},
	}
	for _, tt := range tests {
		m, ok := Lookup("workers-ai", tt.id)
		if !ok {
			t.Errorf("%s missing", tt.id)
			continue
		}
		if m.Task != tt.task || m.PublishedTask == "" || m.Description == "" {
			t.Errorf("%s: task %q (published %q), description %q", tt.id, m.Task, m.PublishedTask, m.Description)
		}
		if tt.priceUnit != "" && (len(m.Prices) == 0 || m.Prices[0].Unit != tt.priceUnit) {
			t.Errorf("%s: prices %+v, want unit %q", tt.id, m.Prices, tt.priceUnit)
		}
		if !strings.Contains(m.Source, "cloudflare-docs") {
			t.Errorf("%s: source %q does not name the published file", tt.id, m.Source)
		}
	}
	// models.json's neuron prices survive the merge (plan and budgets use them).
	m, _ := Lookup("workers-ai", "@cf/baai/bge-m3")
	if m.NeuronsPerMInput == 0 || m.MaxBatch == 0 {
		t.Errorf("bge-m3 lost its models.json figures: %+v", m)
	}
	v, _ := Lookup("workers-ai", "@cf/meta/llama-3.2-11b-vision-instruct")
	if v.USDPerMInput != 0.049 || v.USDPerMOutput != 0.68 || !v.LoRA {
		t.Errorf("llama-3.2-11b-vision: usd %v/%v lora %v, want the published 0.049/0.68 and LoRA", v.USDPerMInput, v.USDPerMOutput, v.LoRA)
	}
	k, _ := Lookup("workers-ai", "@cf/moonshotai/kimi-k2.5")
	if !k.IsDeprecated() || k.PlannedDeprecation != "2026-05-30" {
		t.Errorf("kimi-k2.5: planned deprecation %q", k.PlannedDeprecation)
	}
	if s := PublishedSource(); s.Repository != "cloudflare/cloudflare-docs" || s.Taken == "" {
		t.Errorf("source %+v", s)
	}
}

// TestPublishedParams: parameters come from the form that carries the primary field,
// with the published ranges and enums.
func TestPublishedParams(t *testing.T) {
	tests := []struct {
		model, primary, name string
		value                any
		want                 string // "" = accepted
	}{
		{"@cf/meta/llama-3.1-8b-instruct", "messages", "seed", 0, "wants an integer from 1 to 9999999999, got 0"},
		{"@cf/meta/llama-3.1-8b-instruct", "messages", "seed", 7, ""},
		{"@cf/meta/llama-3.1-8b-instruct", "messages", "top_k", 100, "wants an integer from 1 to 50, got 100"},
		{"@cf/meta/llama-3.1-8b-instruct", "messages", "top_k", 1.5, "an integer from 1 to 50"},
		{"@cf/meta/llama-3.1-8b-instruct", "messages", "temperature", "hot", "a number from 0 to 5"},
		{"@cf/meta/llama-3.3-70b-instruct-fp8-fast", "messages", "frequency_penalty", -1.5, ""},
		{"@cf/meta/llama-3.3-70b-instruct-fp8-fast", "messages", "top_p", 1.5, "a number from 0.001 to 1"},
		{"@cf/baai/bge-base-en-v1.5", "text", "pooling", "max", "wants one of mean, cls, got \"max\""},
		{"@cf/baai/bge-base-en-v1.5", "text", "pooling", "cls", ""},
	}
	for _, tt := range tests {
		p, ok := PublishedParams("workers-ai", tt.model, tt.primary)
		if !ok {
			t.Fatalf("%s: no published params", tt.model)
		}
		err := p.Check(tt.name, tt.value)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s %s=%v: %v", tt.model, tt.name, tt.value, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s %s=%v: err %v, want %q", tt.model, tt.name, tt.value, err, tt.want)
		}
	}
	m3, _ := PublishedParams("workers-ai", "@cf/baai/bge-m3", "text")
	if m3.Has("pooling") || !m3.Has("truncate_inputs") || m3.Has("requests") {
		t.Errorf("bge-m3 text form params = %v, want truncate_inputs and no pooling or requests", m3.Names())
	}
	chat, _ := PublishedParams("workers-ai", "@cf/meta/llama-3.1-8b-instruct", "messages")
	if chat.Has("prompt") || chat.Has("raw") || !chat.Has("tools") {
		t.Errorf("messages form params = %v", chat.Names())
	}
	if _, ok := PublishedParams("workers-ai", "@cf/qwen/qwq-32b", "messages"); ok {
		t.Errorf("qwq-32b publishes no schema, yet params were found")
	}
}

// TestValidateInput: whole bodies are checked against the published schema, with the
// overlapping oneOf branches read as anyOf.
func TestValidateInput(t *testing.T) {
	tests := []struct {
		model, body string
		ok          bool
	}{
		{"@cf/meta/llama-3.3-70b-instruct-fp8-fast", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":10}`, true},
		{"@cf/meta/llama-3.3-70b-instruct-fp8-fast", `{"messages":[{"role":"user","content":"hi"}],"top_k":100}`, false},
		{"@cf/meta/llama-3.1-8b-instruct", `{"messages":[{"role":"user"}]}`, false},
		{"@cf/baai/bge-base-en-v1.5", `{"text":["a","b"],"pooling":"cls"}`, true},
		{"@cf/baai/bge-base-en-v1.5", `{"text":""}`, false},
		{"@cf/meta/m2m100-1.2b", `{"text":"hi","target_lang":"fr"}`, true},
		{"@cf/meta/m2m100-1.2b", `{"text":"hi"}`, false},
		{"@cf/black-forest-labs/flux-1-schnell", `{"prompt":"cat","steps":4}`, true},
		{"@cf/black-forest-labs/flux-1-schnell", `{"prompt":"cat","steps":9}`, false},
		{"@cf/black-forest-labs/flux-1-schnell", `{"prompt":"cat","seed":1}`, false},
	}
	for _, tt := range tests {
		checked, err := ValidateInput("workers-ai", tt.model, []byte(tt.body))
		if !checked || (err == nil) != tt.ok {
			t.Errorf("%s %s: checked %v err %v, want ok=%v", tt.model, tt.body, checked, err, tt.ok)
		}
	}
}

// A model priced only per audio minute, character or image step is priced, not
// "unpriced": `aiflow models -o json` said unpriced beside the published price. Its
// tokens still cannot be priced, so plan must not price them at $0.
func TestPricedInOtherUnits(t *testing.T) {
	tests := []struct {
		id                      string
		unpriced, tokens, image bool
	}{
		{"@cf/openai/whisper-large-v3-turbo", false, false, false},   // per audio minute
		{"@cf/black-forest-labs/flux-1-schnell", false, false, true}, // per tile and step
		{"@cf/meta/llama-3.1-8b-instruct", false, true, false},       // per M tokens
		{"@cf/deepseek-ai/deepseek-math-7b-instruct", true, false, false},
	}
	for _, tt := range tests {
		m, ok := Lookup("workers-ai", tt.id)
		if !ok {
			t.Fatalf("%s is not in the catalogue", tt.id)
		}
		if m.Unpriced != tt.unpriced || m.TokenPriced() != tt.tokens || m.ImagePriced() != tt.image {
			t.Errorf("%s: unpriced %v, token-priced %v, image-priced %v; want %v, %v, %v (prices %+v)",
				tt.id, m.Unpriced, m.TokenPriced(), m.ImagePriced(), tt.unpriced, tt.tokens, tt.image, m.Prices)
		}
		if !m.Unpriced && len(m.Prices) == 0 && !m.TokenPriced() && !m.ImagePriced() {
			t.Errorf("%s: neither unpriced nor priced", tt.id)
		}
	}
}
