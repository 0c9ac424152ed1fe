package workersai

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
)

// Embedding batch defaults.
const (
	DefaultEmbedBatch = 100 // the bge schemas' maxItems
	embedParallel     = 4   // batches of one request in flight at once
)

// embedOptions are the EmbedRequest.Options Workers AI understands.
var embedOptions = map[string]bool{"pooling": true, "truncate_inputs": true}

// Embed turns texts into vectors with a bge model ({"text": [...]}), in batches of at
// most the model's max_batch (100) sent concurrently; vectors keep input order.
func (p *Provider) Embed(ctx context.Context, req providers.EmbedRequest) (providers.EmbedResponse, error) {
	if err := checkModel(req.Model); err != nil {
		return providers.EmbedResponse{}, err
	}
	if err := checkEmbed(req); err != nil {
		return providers.EmbedResponse{}, err
	}
	if len(req.Texts) == 0 {
		return providers.EmbedResponse{Meta: providers.Meta{"model": req.Model}}, nil
	}
	batches := split(req.Texts, embedBatch(req.Model))
	results := make([]embedResult, len(batches))
	errs := make([]error, len(batches))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, embedParallel)
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if results[i], errs[i] = p.embedBatch(ctx, req, b); errs[i] != nil {
				cancel() // the other batches are wasted once one fails
			}
		})
	}
	wg.Wait()
	return mergeEmbeds(req, results, firstError(errs))
}

// checkEmbed rejects what the service would: empty texts and unknown options. Options
// are checked against the model's published input schema when it is vendored (bge-m3
// publishes no pooling), else against the options every bge model takes.
func checkEmbed(req providers.EmbedRequest) error {
	if ps, ok := catalog.PublishedParams(Kind, req.Model, "text"); ok {
		if err := checkPublished(req.Model, ps, req.Options, "embedding option"); err != nil {
			return err
		}
	}
	for k := range req.Options {
		if !embedOptions[k] {
			return invalid(req.Model, fmt.Sprintf("embedding option %s is not supported (workers-ai accepts pooling, truncate_inputs)", k))
		}
	}
	if p, ok := req.Options["pooling"]; ok && p != "mean" && p != "cls" {
		return invalid(req.Model, fmt.Sprintf("embedding option pooling: %v (want mean or cls)", p))
	}
	for i, t := range req.Texts {
		if t == "" {
			return invalid(req.Model, fmt.Sprintf("text %d is empty (Workers AI rejects empty inputs)", i))
		}
	}
	return nil
}

func embedBatch(model string) int {
	if m, ok := catalog.Lookup(Kind, model); ok && m.MaxBatch > 0 {
		return m.MaxBatch
	}
	return DefaultEmbedBatch
}

func split(texts []string, n int) [][]string {
	var out [][]string
	for len(texts) > n {
		out = append(out, texts[:n])
		texts = texts[n:]
	}
	return append(out, texts)
}

// embedResult is a bge `result`; some schemas put the vectors under response.
type embedResult struct {
	Shape    []int       `json:"shape"`
	Data     [][]float32 `json:"data"`
	Response [][]float32 `json:"response"`
	Pooling  string      `json:"pooling"`
	meta     providers.Meta
}

// embedBatch sends one batch and checks it got one vector per text.
func (p *Provider) embedBatch(ctx context.Context, req providers.EmbedRequest, texts []string) (embedResult, error) {
	body := map[string]any{"text": texts}
	for k, v := range req.Options {
		body[k] = v
	}
	var res embedResult
	meta, err := p.run(ctx, call{task: providers.TaskEmbed, model: req.Model, body: body, gw: req.Gateway}, &res)
	if err != nil {
		return res, err
	}
	res.meta = meta
	if len(res.Data) == 0 {
		res.Data = res.Response
	}
	if len(res.Data) != len(texts) {
		return res, invalid(req.Model, fmt.Sprintf("sent %d texts, got %d vectors", len(texts), len(res.Data)))
	}
	return res, nil
}

// firstError returns the failure that caused the others (which are cancellations),
// naming its batch.
func firstError(errs []error) error {
	var first error
	for i, err := range errs {
		if err == nil {
			continue
		}
		if len(errs) > 1 {
			err = fmt.Errorf("embedding batch %d of %d: %w", i+1, len(errs), err)
		}
		if first == nil || (errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = err
		}
	}
	return first
}

// mergeEmbeds joins batch results in order, checking that dimensions agree.
func mergeEmbeds(req providers.EmbedRequest, results []embedResult, err error) (providers.EmbedResponse, error) {
	if err != nil {
		return providers.EmbedResponse{}, err
	}
	var out providers.EmbedResponse
	for _, r := range results {
		for _, v := range r.Data {
			if out.Dimensions == 0 {
				out.Dimensions = len(v)
			}
			if len(v) != out.Dimensions {
				return providers.EmbedResponse{}, invalid(req.Model, fmt.Sprintf("vectors of %d and %d dimensions in one answer", out.Dimensions, len(v)))
			}
			out.Vectors = append(out.Vectors, v)
		}
		out.Meta = r.meta
	}
	out.Usage = estimatedUsage(req.Model, out.Meta, req.Texts)
	out.Usage.Requests = len(results)
	if len(results) > 1 {
		out.Meta["batches"] = fmt.Sprint(len(results))
	}
	return out, nil
}
