// Package embed implements the "embed" step kind: text or a list of texts to vectors.
// It implements steps.BatchStep, so `for_each` with `batch: N` sends the texts of N items
// in one provider request; the provider splits that further into its own maximum batch.
package embed

import (
	"context"
	"fmt"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/capability"
)

func init() { steps.MustRegister(Kind) }

// Kind describes the embed step to the registry.
var Kind = steps.Kind{
	Name:    "embed",
	Summary: "Turn text or a list of texts into vectors, batched to the provider's limit.",
	Task:    providers.TaskEmbed,
	Inputs: []steps.Field{
		{Name: "text", Type: steps.String, Doc: "One text to embed (give text or texts, not both)."},
		{Name: "texts", Type: steps.Strings, Doc: "Texts to embed, e.g. ${ steps.chunks.output.texts } (give text or texts, not both)."},
		{Name: "options", Type: steps.Object, Doc: "Model options passed to the provider, e.g. {pooling: cls} for bge models or {dimensions: 256}."},
	},
	Outputs: []steps.Field{
		{Name: "vectors", Type: steps.List, Doc: "One vector (a list of numbers) per input text, in input order."},
		{Name: "vector", Type: steps.List, Doc: "The first vector (handy with text:); null when there is no input."},
		{Name: "dimensions", Type: steps.Int, Doc: "Length of each vector."},
		{Name: "count", Type: steps.Int, Doc: "Number of vectors."},
	},
	Keys:          []string{"model", "route", "batch"},
	Version:       "1",
	Deterministic: true,
	New:           newEmbedder,
}

type embedder struct{}

var (
	_ steps.Step      = embedder{}
	_ steps.BatchStep = embedder{}
)

// newEmbedder checks that exactly one of text and texts is given. Steps built in code
// (Env.Invoke, for agent tools) have no with: block; their inputs are checked by Run.
func newEmbedder(s *spec.Step) (steps.Step, spec.Diagnostics) {
	var diags spec.Diagnostics
	if s.Pos.Line == 0 && len(s.With) == 0 {
		return embedder{}, nil
	}
	text, texts := s.Input("text"), s.Input("texts")
	switch {
	case text != nil && texts != nil:
		diags.Errorf(texts.KeyPos, "steps."+s.ID+".with.texts", "give text or texts, not both")
	case text == nil && texts == nil:
		pos := s.WithPos
		if pos.Line == 0 {
			pos = s.Pos
		}
		diags.Errorf(pos, "steps."+s.ID+".with", "embed needs text or texts")
	}
	return embedder{}, diags
}

// Run embeds the call's text or texts in one request.
func (embedder) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	res, err := embedder{}.RunBatch(ctx, []*steps.Call{call})
	if err != nil {
		var paid steps.Result // a request billed and then refused still counts
		for _, r := range res {
			paid.Usage = paid.Usage.Add(r.Usage)
		}
		return paid, err
	}
	return res[0], nil
}

// RunBatch embeds the texts of every call in one request and splits the vectors back in
// call order. Usage is shared out in proportion to each call's number of texts.
func (embedder) RunBatch(ctx context.Context, calls []*steps.Call) ([]steps.Result, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	var all []string
	counts := make([]int, len(calls))
	for i, call := range calls {
		texts, err := inputTexts(call)
		if err != nil {
			return nil, err
		}
		counts[i] = len(texts)
		all = append(all, texts...)
	}
	resp, err := embed(ctx, calls[0], all)
	if err != nil {
		if resp.Usage != (providers.Usage{}) {
			return []steps.Result{{Usage: resp.Usage}}, err // paid for, then unusable
		}
		return nil, err
	}
	return split(calls[0], resp, counts), nil
}

// inputTexts returns the texts of a call: [text] or texts.
func inputTexts(call *steps.Call) ([]string, error) {
	if t, ok := call.Inputs["text"].(string); ok {
		if _, both := call.Inputs["texts"]; both {
			return nil, fmt.Errorf("give text or texts, not both")
		}
		return []string{t}, nil
	}
	if ts, ok := call.Inputs["texts"].([]string); ok {
		return ts, nil
	}
	return nil, fmt.Errorf("embed needs text or texts")
}

// embed sends one request; an empty input list sends none.
func embed(ctx context.Context, call *steps.Call, texts []string) (providers.EmbedResponse, error) {
	if len(texts) == 0 {
		return providers.EmbedResponse{}, nil
	}
	e, err := capability.Of[providers.Embedder](call.Model, providers.TaskEmbed)
	if err != nil {
		return providers.EmbedResponse{}, err
	}
	opts, _ := call.Inputs["options"].(map[string]any)
	resp, err := e.Embed(ctx, providers.EmbedRequest{Model: call.Model.ID, Texts: texts, Options: opts, Gateway: call.Model.Gateway})
	if err != nil {
		return resp, fmt.Errorf("embedding %d texts with %s: %w", len(texts), call.Model.Ref(), err)
	}
	if len(resp.Vectors) != len(texts) {
		return resp, fmt.Errorf("embedding with %s: got %d vectors for %d texts", call.Model.Ref(), len(resp.Vectors), len(texts))
	}
	if resp.Dimensions == 0 && len(resp.Vectors) > 0 {
		resp.Dimensions = len(resp.Vectors[0])
	}
	return resp, nil
}

// split cuts one response into per-call results.
func split(first *steps.Call, resp providers.EmbedResponse, counts []int) []steps.Result {
	usages := shareUsage(resp.Usage, counts)
	out := make([]steps.Result, len(counts))
	at := 0
	for i, n := range counts {
		vecs := resp.Vectors[at : at+n]
		at += n
		out[i] = steps.Result{Output: output(vecs, resp.Dimensions), Usage: usages[i], Meta: resp.Meta}
		if first.Model != nil && n > 0 {
			out[i].ModelRef = first.Model.Ref()
		}
	}
	return out
}

func output(vecs [][]float32, dims int) map[string]any {
	list := make([]any, len(vecs))
	for i, v := range vecs {
		list[i] = v
	}
	var first any
	if len(vecs) > 0 {
		first = vecs[0]
	} else {
		dims = 0
	}
	return map[string]any{"vectors": list, "vector": first, "dimensions": dims, "count": len(vecs)}
}
