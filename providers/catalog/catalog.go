// Package catalog is aiflow's built-in model catalogue: for each known model of each
// provider kind, its task, context window, batch limit, embedding dimensions, list prices
// (USD and, for Workers AI, neurons) and the provider's per-task rate limits. The data is
// an embedded JSON file, models.json; every entry names its source, and prices of
// third-party providers are marked approximate there.
//
// The catalogue is read-only and safe for concurrent use.
package catalog

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/aiflow/aiflow/providers"
)

//go:embed models.json
var modelsJSON []byte

// Model is one catalogue entry. Zero numbers mean "unknown", except prices of a Free model.
type Model struct {
	Provider      string         `json:"provider"` // provider kind, e.g. "workers-ai"
	ID            string         `json:"id"`       // the provider's model id
	Task          providers.Task `json:"task"`
	ContextWindow int            `json:"context_window,omitempty"` // tokens (input tokens for embedders)
	MaxBatch      int            `json:"max_batch,omitempty"`      // inputs per embedding call
	Dimensions    int            `json:"dimensions,omitempty"`     // embedding size
	// USDPerMInput and USDPerMOutput are list prices per million tokens.
	USDPerMInput  float64 `json:"usd_per_m_input,omitempty"`
	USDPerMOutput float64 `json:"usd_per_m_output,omitempty"`
	// NeuronsPerMInput and NeuronsPerMOutput are Workers AI neurons per million tokens.
	NeuronsPerMInput  float64 `json:"neurons_per_m_input,omitempty"`
	NeuronsPerMOutput float64 `json:"neurons_per_m_output,omitempty"`
	// Free marks a model published at no cost; Unpriced one with no price published in any
	// unit (a model priced per audio minute or image is priced: see Prices).
	Free     bool `json:"free,omitempty"`
	Unpriced bool `json:"unpriced,omitempty"`
	// JSONMode, Tools and Batch flag documented support for JSON output, function
	// calling and the asynchronous batch queue.
	JSONMode bool `json:"json_mode,omitempty"`
	Tools    bool `json:"tools,omitempty"`
	Batch    bool `json:"batch,omitempty"`
	// Agreement marks models that need their licence accepted once per account.
	Agreement bool `json:"agreement,omitempty"`
	// API names a non-default request shape: "openai-chat" for Workers AI models served
	// through the OpenAI-compatible endpoint.
	API string `json:"api,omitempty"`
	// NeuronsPerTile and NeuronsPerStep price image generation: neurons per 512x512 tile of
	// the output and per diffusion step; DefaultSteps is the step count the model uses when
	// a request gives none. USD follows from the neuron price.
	NeuronsPerTile float64 `json:"neurons_per_tile,omitempty"`
	NeuronsPerStep float64 `json:"neurons_per_step,omitempty"`
	DefaultSteps   int     `json:"default_steps,omitempty"`
	// NeuronsPerImage prices image classification: neurons per image classified.
	NeuronsPerImage float64 `json:"neurons_per_image,omitempty"`
	// USDPerImage prices image generation billed per image (OpenAI's list price for one
	// image at the model's default size and quality).
	USDPerImage float64 `json:"usd_per_image,omitempty"`
	// Labels is a classifier's own label set.
	Labels []string `json:"labels,omitempty"`
	// Source says where the figures come from ("approximate: …" for list prices).
	Source string `json:"source"`

	// The fields below come from the provider's published model metadata (for Workers AI,
	// the cloudflare-docs model files vendored in workersai.json); see published.go.

	// Description is the provider's one-paragraph description of the model.
	Description string `json:"description,omitempty"`
	// PublishedTask is the provider's own task name ("Text-to-Image" …); Task is aiflow's.
	PublishedTask string `json:"published_task,omitempty"`
	// Prices are the published prices with their units ("per M input tokens", "per audio
	// minute", "per 512x512 tile" …); plan prices tokens from the USD/neuron fields.
	Prices []Price `json:"prices,omitempty"`
	// LoRA marks models that accept a fine-tuned LoRA adapter; Beta models in beta.
	LoRA bool `json:"lora,omitempty"`
	Beta bool `json:"beta,omitempty"`
	// Deprecated marks a model the provider has deprecated; PlannedDeprecation is the
	// published date it stops serving, Successor the model to move to, where published.
	Deprecated         bool   `json:"deprecated,omitempty"`
	PlannedDeprecation string `json:"planned_deprecation,omitempty"`
	Successor          string `json:"successor,omitempty"`
	// Schema says whether the published input and output JSON schemas are vendored, so
	// validate can check params and the emulator requests against them.
	Schema bool `json:"schema,omitempty"`
}

// Price is one published price and its unit.
type Price struct {
	Unit     string  `json:"unit"`
	Price    float64 `json:"price"`
	Currency string  `json:"currency"`
}

// RateLimit is a provider's published request budget for one task (or one model).
type RateLimit struct {
	Provider          string         `json:"provider"`
	Task              providers.Task `json:"task"`
	Model             string         `json:"model,omitempty"` // a model-specific override
	RequestsPerMinute int            `json:"requests_per_minute"`
	Source            string         `json:"source"`
}

// file is the layout of models.json.
type file struct {
	NeuronUSDPerThousand float64     `json:"neuron_usd_per_thousand"`
	Models               []Model     `json:"models"`
	RateLimits           []RateLimit `json:"rate_limits"`
}

// data is parsed once at init, models.json merged with the published metadata; a
// malformed file is a build defect caught by the tests.
var data = mustParse(modelsJSON, publishedJSON)

func mustParse(b, pub []byte) file {
	f, err := parse(b)
	if err != nil {
		panic(fmt.Sprintf("catalog: embedded models.json: %v", err))
	}
	p, err := parsePublished(pub)
	if err != nil {
		panic(fmt.Sprintf("catalog: embedded workersai.json: %v", err))
	}
	f.merge(p)
	return f
}

// parse decodes and validates a catalogue file.
func parse(b []byte) (file, error) {
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return file{}, err
	}
	return f, f.validate()
}

// Lookup returns the model id of providerKind.
func Lookup(providerKind, id string) (Model, bool) {
	for _, m := range data.Models {
		if m.Provider == providerKind && m.ID == id {
			return m, true
		}
	}
	return Model{}, false
}

// All returns every model, sorted by provider kind then id. The slice is a copy.
func All() []Model {
	out := append([]Model(nil), data.Models...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// IsDeprecated reports whether the provider deprecated the model or published a date it
// stops serving.
func (m Model) IsDeprecated() bool { return m.Deprecated || m.PlannedDeprecation != "" }

// ByProvider returns the models of one provider kind, sorted by id.
func ByProvider(providerKind string) []Model {
	var out []Model
	for _, m := range All() {
		if m.Provider == providerKind {
			out = append(out, m)
		}
	}
	return out
}

// NeuronUSD is the price of one Workers AI neuron in USD.
func NeuronUSD() float64 { return data.NeuronUSDPerThousand / 1000 }

// TokenPriced reports whether Cost can price m's tokens: it is free or has a price or
// neuron rate per million input or output tokens. A model priced only per audio minute,
// image or character is not, though it is not Unpriced either.
func (m Model) TokenPriced() bool {
	return m.Free || m.USDPerMInput > 0 || m.USDPerMOutput > 0 || m.NeuronsPerMInput > 0 || m.NeuronsPerMOutput > 0
}

// Cost prices one call. With neuron rates (Workers AI), neurons = in/1e6 × N_in +
// out/1e6 × N_out and usd = neurons × the neuron price; otherwise usd comes from the USD
// list prices and neurons is 0. Free and unpriced models cost 0.
func (m Model) Cost(inTokens, outTokens int) (usd, neurons float64) {
	in, out := float64(inTokens)/1e6, float64(outTokens)/1e6
	if m.NeuronsPerMInput > 0 || m.NeuronsPerMOutput > 0 {
		neurons = in*m.NeuronsPerMInput + out*m.NeuronsPerMOutput
		return neurons * NeuronUSD(), neurons
	}
	return in*m.USDPerMInput + out*m.USDPerMOutput, 0
}

// RequestsPerMinute returns the published request budget for a task of providerKind,
// preferring a model-specific entry. It reports false when none is published.
func RequestsPerMinute(providerKind string, task providers.Task, model string) (int, bool) {
	general := 0
	for _, rl := range data.RateLimits {
		if rl.Provider != providerKind || rl.Task != task {
			continue
		}
		if rl.Model == model && model != "" {
			return rl.RequestsPerMinute, true
		}
		if rl.Model == "" {
			general = rl.RequestsPerMinute
		}
	}
	return general, general > 0
}

// RateLimits returns every published rate limit (a copy).
func RateLimits() []RateLimit { return append([]RateLimit(nil), data.RateLimits...) }
