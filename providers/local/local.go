package local

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"

	"github.com/aiflow/aiflow/providers"
)

// Kind is the provider kind name used in flow files (`kind: local`).
const Kind = "local"

func init() {
	providers.MustRegister(providers.Info{
		Name:    Kind,
		Summary: "Embedded offline engine: lexical embeddings, extractive summaries, VADER sentiment, zero-shot labels, Apertium translation.",
		Tasks:   []providers.Task{providers.TaskEmbed, providers.TaskSummarize, providers.TaskClassify, providers.TaskTranslate, providers.TaskToMarkdown},
		Models:  modelIDsByTask(),
		Settings: []providers.SettingField{
			{Name: "dimensions", Type: "int", Doc: fmt.Sprintf("Vector size of local/hash-embed (%d–%d, default %d).", minDimensions, maxDimensions, defaultDimensions)},
			{Name: "apertium", Type: "string", Doc: "Path or name of the apertium command (default: apertium on PATH)."},
			{Name: "apertium_datadir", Type: "string", Doc: "Apertium data directory holding modes/ (passed as -d; default: Apertium's own)."},
		},
		New: New,
	})
}

// Provider is a configured local provider. It holds no connections and is safe for
// concurrent use.
type Provider struct {
	embedder hashEmbedder
	apertium *apertium
}

var (
	_ providers.Embedder   = (*Provider)(nil)
	_ providers.Summarizer = (*Provider)(nil)
	_ providers.Classifier = (*Provider)(nil)
	_ providers.Translator = (*Provider)(nil)
	_ providers.Limiter    = (*Provider)(nil)
)

// New builds a local provider from its settings (see the registered Info for the keys).
func New(cfg providers.Config) (providers.Provider, error) {
	p := &Provider{embedder: hashEmbedder{dims: defaultDimensions}, apertium: &apertium{bin: "apertium"}}
	for _, key := range sortedKeys(cfg.Settings) {
		if err := p.set(key, cfg.Settings[key]); err != nil {
			return nil, fmt.Errorf("local provider %q: %w", cfg.Name, err)
		}
	}
	return p, nil
}

func (p *Provider) set(key string, v any) error {
	switch key {
	case "dimensions":
		n, err := dimensionsValue(v)
		if err != nil {
			return fmt.Errorf("setting dimensions: %w", err)
		}
		p.embedder.dims = n
	case "apertium", "apertium_datadir":
		s, ok := v.(string)
		if !ok || s == "" {
			return fmt.Errorf("setting %s: want a non-empty string, got %T", key, v)
		}
		if key == "apertium" {
			p.apertium.bin = s
		} else {
			p.apertium.datadir = s
		}
	default:
		return fmt.Errorf("unknown setting %q (accepted: dimensions, apertium, apertium_datadir)", key)
	}
	return nil
}

// Kind returns "local".
func (p *Provider) Kind() string { return Kind }

// Close releases nothing; the provider holds no resources.
func (p *Provider) Close() error { return nil }

// Limits lets the engine run one call per CPU; every call is CPU-bound.
func (p *Provider) Limits() providers.Limits {
	return providers.Limits{Concurrency: runtime.GOMAXPROCS(0)}
}

// Embed returns lexical feature-hashing vectors (local/hash-embed), one per text in input
// order. Options["dimensions"] overrides the provider's vector size for this call.
func (p *Provider) Embed(ctx context.Context, req providers.EmbedRequest) (providers.EmbedResponse, error) {
	model, err := checkModel(providers.TaskEmbed, req.Model, ModelHashEmbed)
	if err != nil {
		return providers.EmbedResponse{}, err
	}
	e := p.embedder
	if v, ok := req.Options["dimensions"]; ok {
		if e.dims, err = dimensionsValue(v); err != nil {
			return providers.EmbedResponse{}, badRequest(model, "option dimensions: %v", err)
		}
	}
	resp := providers.EmbedResponse{Vectors: make([][]float32, len(req.Texts)), Dimensions: e.dims}
	for i, t := range req.Texts {
		if i%64 == 0 && ctx.Err() != nil {
			return providers.EmbedResponse{}, fmt.Errorf("local embed: %w", ctx.Err())
		}
		resp.Vectors[i] = e.embed(t)
		resp.Usage.InputTokens += wordCount(t)
	}
	resp.Usage.Requests = 1
	resp.Meta = providers.Meta{"model": model}
	return resp, nil
}

// dimensionsValue reads a vector size from a setting or option: an integer, or a float
// with no fraction (YAML and JSON numbers).
func dimensionsValue(v any) (int, error) {
	var n int
	switch x := v.(type) {
	case int:
		n = x
	case int64:
		n = int(x)
	case uint64:
		n = int(min(x, math.MaxInt32))
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > math.MaxInt32 {
			return 0, fmt.Errorf("want a whole number, got %v", x)
		}
		n = int(x)
	default:
		return 0, fmt.Errorf("want a number, got %T", v)
	}
	if n < minDimensions || n > maxDimensions {
		return 0, fmt.Errorf("%d is out of range %d–%d", n, minDimensions, maxDimensions)
	}
	return n, nil
}

func usage(in, out string) providers.Usage {
	return providers.Usage{InputTokens: wordCount(in), OutputTokens: wordCount(out), Requests: 1}
}

// sortedKeys is for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
