// Package fake is a deterministic provider for engine tests: generation echoes the prompt,
// embeddings hash words, and a test can script failures per model. It is never registered
// in the default registry, so no flow file can reach it.
package fake

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"sync"

	"github.com/aiflow/aiflow/providers"
)

// Kind is the provider kind tests register fake under.
const Kind = "fake"

// Provider serves generate and embed. Calls counts calls per model; Fail, when set, is
// consulted before every call and may return an error to simulate the provider failing.
type Provider struct {
	mu    sync.Mutex
	calls map[string]int
	// Fail returns the error a call to model should fail with, or nil.
	Fail func(model string, n int) error
	// PricePerCall is charged (USD) for every call.
	PricePerCall float64
}

// New returns a fresh provider.
func New() *Provider { return &Provider{calls: map[string]int{}} }

// Info registers p under Kind; every flow provider of that kind is the same p.
func (p *Provider) Info() providers.Info {
	return providers.Info{Name: Kind, Summary: "test double", Tasks: []providers.Task{providers.TaskGenerate, providers.TaskEmbed},
		New: func(providers.Config) (providers.Provider, error) { return p, nil }}
}

// Kind returns "fake".
func (p *Provider) Kind() string { return Kind }

// Close does nothing.
func (p *Provider) Close() error { return nil }

// Calls returns how many calls model received.
func (p *Provider) Calls(model string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[model]
}

func (p *Provider) begin(model string) error {
	p.mu.Lock()
	p.calls[model]++
	n := p.calls[model]
	fail := p.Fail
	p.mu.Unlock()
	if fail != nil {
		return fail(model, n)
	}
	return nil
}

// Generate answers "<model>: <last user message>".
func (p *Provider) Generate(_ context.Context, req providers.GenerateRequest) (providers.GenerateResponse, error) {
	if err := p.begin(req.Model); err != nil {
		return providers.GenerateResponse{}, err
	}
	last := ""
	for _, m := range req.Messages {
		if m.Role == "user" {
			last = m.Content
		}
	}
	text := req.Model + ": " + last
	if req.Stream != nil {
		for _, w := range strings.SplitAfter(text, " ") {
			req.Stream(w)
		}
	}
	return providers.GenerateResponse{Text: text, FinishReason: "stop",
		Usage: providers.Usage{InputTokens: len(strings.Fields(last)), OutputTokens: len(strings.Fields(text)), USD: p.PricePerCall, Requests: 1}}, nil
}

// Embed hashes each text's words into 16 dimensions, L2-normalised.
func (p *Provider) Embed(_ context.Context, req providers.EmbedRequest) (providers.EmbedResponse, error) {
	if err := p.begin(req.Model); err != nil {
		return providers.EmbedResponse{}, err
	}
	const dims = 16
	out := make([][]float32, len(req.Texts))
	for i, t := range req.Texts {
		v := make([]float32, dims)
		for _, w := range strings.Fields(strings.ToLower(t)) {
			h := fnv.New32a()
			h.Write([]byte(w))
			v[h.Sum32()%dims]++
		}
		var n float64
		for _, x := range v {
			n += float64(x * x)
		}
		if n > 0 {
			for j := range v {
				v[j] /= float32(math.Sqrt(n))
			}
		}
		out[i] = v
	}
	return providers.EmbedResponse{Vectors: out, Dimensions: dims, Usage: providers.Usage{Requests: 1, USD: p.PricePerCall}}, nil
}

// Unavailable is a retryable 503 from model, for fallback tests.
func Unavailable(model string) error {
	return &providers.Error{Provider: Kind, Model: model, Status: 503, Retryable: true, Message: fmt.Sprintf("%s is unavailable", model)}
}

// RateLimited is a retryable 429 from model.
func RateLimited(model string) error {
	return &providers.Error{Provider: Kind, Model: model, Status: 429, Retryable: true, Message: "rate limited"}
}
