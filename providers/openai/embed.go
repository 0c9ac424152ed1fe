package openai

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	oai "github.com/openai/openai-go/v3"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/providers/internal/sdkprovider"
	"github.com/aiflow/aiflow/providers/internal/setting"
)

// MaxBatch is the most inputs OpenAI accepts in one embeddings request.
const MaxBatch = 2048

// embedOptions are the EmbedRequest.Options this provider understands.
var embedOptions = []string{"dimensions"}

// Embed sends the texts in batches of at most MaxBatch (less when the catalogue says so),
// one request after another, and returns the vectors in input order whatever order the
// server listed them in.
func (p *Provider) Embed(ctx context.Context, req providers.EmbedRequest) (providers.EmbedResponse, error) {
	params, err := embedParams(req)
	if err != nil {
		return providers.EmbedResponse{}, p.requestError(req.Model, err)
	}
	batch := MaxBatch
	if m, ok := catalog.Lookup(Kind, req.Model); ok && m.MaxBatch > 0 && m.MaxBatch < batch {
		batch = m.MaxBatch
	}
	out := providers.EmbedResponse{Vectors: make([][]float32, len(req.Texts))}
	for start := 0; start < len(req.Texts); start += batch {
		end := min(start+batch, len(req.Texts))
		if err := p.embedBatch(ctx, req, params, start, end, &out); err != nil {
			return providers.EmbedResponse{}, err
		}
	}
	out.Usage.USD, out.Usage.Neurons = price(req.Model, out.Usage.InputTokens, 0)
	return out, nil
}

// embedParams checks the request and builds the params shared by every batch.
func embedParams(req providers.EmbedRequest) (oai.EmbeddingNewParams, error) {
	params := oai.EmbeddingNewParams{Model: req.Model, EncodingFormat: oai.EmbeddingNewParamsEncodingFormatFloat}
	switch {
	case req.Model == "":
		return params, fmt.Errorf("no model given")
	case len(req.Texts) == 0:
		return params, fmt.Errorf("no texts to embed")
	}
	for i, t := range req.Texts {
		if t == "" {
			return params, fmt.Errorf("text %d is empty; OpenAI rejects empty inputs", i)
		}
	}
	keys := make([]string, 0, len(req.Options))
	for k := range req.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "dimensions" {
			return params, fmt.Errorf("option %s: not supported by openai embeddings (supported: %s)", k, strings.Join(embedOptions, ", "))
		}
		n, ok := setting.ToInt(req.Options[k])
		if !ok || n < 1 {
			return params, fmt.Errorf("option dimensions: want a positive integer, got %v", req.Options[k])
		}
		params.Dimensions = oai.Int(int64(n))
	}
	return params, nil
}

// embedBatch embeds texts[start:end] and places each vector by its index.
func (p *Provider) embedBatch(ctx context.Context, req providers.EmbedRequest, params oai.EmbeddingNewParams,
	start, end int, out *providers.EmbedResponse) error {
	var httpResp *http.Response
	opts, err := p.requestOptions(req.Gateway, &httpResp)
	if err != nil {
		return p.requestError(req.Model, err)
	}
	params.Input = oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: req.Texts[start:end]}
	resp, err := p.embed.New(ctx, params, opts...)
	if err != nil {
		return p.wrapError(err, req.Model)
	}
	if len(resp.Data) != end-start {
		return p.outputError(req.Model, "bad_response", fmt.Sprintf("sent %d texts, got %d vectors", end-start, len(resp.Data)))
	}
	for _, d := range resp.Data {
		i := start + int(d.Index)
		if d.Index < 0 || i >= end || out.Vectors[i] != nil {
			return p.outputError(req.Model, "bad_response", fmt.Sprintf("vector index %d is out of range or repeated", d.Index))
		}
		if out.Dimensions == 0 {
			out.Dimensions = len(d.Embedding)
		}
		if len(d.Embedding) != out.Dimensions || out.Dimensions == 0 {
			return p.outputError(req.Model, "bad_response", fmt.Sprintf("vector %d has %d dimensions, want %d", i, len(d.Embedding), out.Dimensions))
		}
		vec := make([]float32, len(d.Embedding))
		for j, v := range d.Embedding {
			vec[j] = float32(v)
		}
		out.Vectors[i] = vec
	}
	out.Usage = out.Usage.Add(providers.Usage{InputTokens: int(resp.Usage.PromptTokens), Requests: 1})
	out.Meta = sdkprovider.ResponseMeta(httpResp, resp.Model, metaHeaders)
	return nil
}
