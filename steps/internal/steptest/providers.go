package steptest

import (
	"context"
	"sync"

	"github.com/aiflow/aiflow/providers"
)

// Bare is a provider that serves no task at all.
type Bare struct{}

// Kind returns "bare".
func (Bare) Kind() string { return "bare" }

// Close does nothing.
func (Bare) Close() error { return nil }

// Generator serves TaskGenerate with Fn and records every request it gets.
type Generator struct {
	Bare
	KindName string // reported by Kind; "fake" when empty
	Fn       func(ctx context.Context, req providers.GenerateRequest) (providers.GenerateResponse, error)

	mu   sync.Mutex
	reqs []providers.GenerateRequest
}

// Kind returns KindName, or "fake".
func (g *Generator) Kind() string { return kindOr(g.KindName) }

// Generate records req and calls Fn.
func (g *Generator) Generate(ctx context.Context, req providers.GenerateRequest) (providers.GenerateResponse, error) {
	g.mu.Lock()
	g.reqs = append(g.reqs, req)
	g.mu.Unlock()
	return g.Fn(ctx, req)
}

// Requests returns the requests received so far.
func (g *Generator) Requests() []providers.GenerateRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]providers.GenerateRequest(nil), g.reqs...)
}

// Embedder serves TaskEmbed with Fn and records every request it gets.
type Embedder struct {
	Bare
	Fn func(ctx context.Context, req providers.EmbedRequest) (providers.EmbedResponse, error)

	mu   sync.Mutex
	reqs []providers.EmbedRequest
}

// Kind returns "fake".
func (e *Embedder) Kind() string { return "fake" }

// Embed records req and calls Fn.
func (e *Embedder) Embed(ctx context.Context, req providers.EmbedRequest) (providers.EmbedResponse, error) {
	e.mu.Lock()
	e.reqs = append(e.reqs, req)
	e.mu.Unlock()
	return e.Fn(ctx, req)
}

// Requests returns the requests received so far.
func (e *Embedder) Requests() []providers.EmbedRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]providers.EmbedRequest(nil), e.reqs...)
}

// Summarizer serves TaskSummarize with Fn.
type Summarizer struct {
	Bare
	Fn func(ctx context.Context, req providers.SummarizeRequest) (providers.SummarizeResponse, error)
}

// Kind returns "fake".
func (Summarizer) Kind() string { return "fake" }

// Summarize calls Fn.
func (s Summarizer) Summarize(ctx context.Context, req providers.SummarizeRequest) (providers.SummarizeResponse, error) {
	return s.Fn(ctx, req)
}

// Translator serves TaskTranslate with Fn.
type Translator struct {
	Bare
	Fn func(ctx context.Context, req providers.TranslateRequest) (providers.TranslateResponse, error)
}

// Kind returns "fake".
func (Translator) Kind() string { return "fake" }

// Translate calls Fn.
func (t Translator) Translate(ctx context.Context, req providers.TranslateRequest) (providers.TranslateResponse, error) {
	return t.Fn(ctx, req)
}

// Classifier serves TaskClassify with Fn.
type Classifier struct {
	Bare
	Fn func(ctx context.Context, req providers.ClassifyRequest) (providers.ClassifyResponse, error)
}

// Kind returns "fake".
func (Classifier) Kind() string { return "fake" }

// Classify calls Fn.
func (c Classifier) Classify(ctx context.Context, req providers.ClassifyRequest) (providers.ClassifyResponse, error) {
	return c.Fn(ctx, req)
}

func kindOr(s string) string {
	if s == "" {
		return "fake"
	}
	return s
}

// WordEmbedder is an Embedder whose vectors count letters a–z modulo Dims (at least 1),
// so texts sharing letters are close. It answers Model "" and any id alike.
func WordEmbedder(dims int) *Embedder {
	return &Embedder{Fn: func(_ context.Context, req providers.EmbedRequest) (providers.EmbedResponse, error) {
		out := providers.EmbedResponse{Dimensions: dims, Usage: providers.Usage{Requests: 1}}
		for _, t := range req.Texts {
			v := make([]float32, dims)
			for _, r := range t {
				if r >= 'a' && r <= 'z' {
					v[int(r-'a')%dims]++
				}
			}
			out.Vectors = append(out.Vectors, v)
			out.Usage.InputTokens += len(t)
		}
		return out, nil
	}}
}
