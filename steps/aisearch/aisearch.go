// Package aisearch implements the "ai-search" step kind: ask a Cloudflare AI Search
// instance (a vector-index resource with backend: ai-search) a question; the instance
// retrieves from its own index and answers, and the step returns the answer with the
// sources it was given. For retrieval alone, use the search step on the same resource.
//
// Answers depend on what the instance holds when the step runs, so the kind is not
// deterministic and is not cached unless the step sets cache: itself.
package aisearch

import (
	"context"
	"fmt"
	"math"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

func init() { steps.MustRegister(Kind) }

// MaxResults is AI Search's largest max_num_results.
const MaxResults = 50

// Kind describes the ai-search step to the registry.
var Kind = steps.Kind{
	Name:    "ai-search",
	Summary: "Ask an AI Search instance: it retrieves from its own index and answers, with sources.",
	Inputs: []steps.Field{
		{Name: "index", Type: steps.Resource, Required: true, Doc: "The AI Search instance: a vector-index resource with backend: ai-search, e.g. ${ resources.docs }."},
		{Name: "query", Type: steps.String, Required: true, Doc: "The question."},
		{Name: "system", Type: steps.String, Doc: "A system prompt for the answering model."},
		{Name: "answer_model", Type: steps.String, Doc: "The model AI Search answers with, one it offers (e.g. @cf/meta/llama-3.3-70b-instruct-fp8-fast); default the instance's."},
		{Name: "max_results", Type: steps.Int, Doc: fmt.Sprintf("How many chunks to retrieve (1–%d); default the instance's.", MaxResults)},
		{Name: "min_score", Type: steps.Number, Doc: "Drop chunks scoring below this (0–1, AI Search match_threshold); default the instance's."},
		{Name: "filter", Type: steps.Object, Doc: `Metadata filter with Vectorize operators over folder, filename, timestamp and custom metadata: {folder: "docs/"}, {timestamp: {"$gte": 1735689600}}.`},
		{Name: "rewrite_query", Type: steps.Bool, Doc: "Turn AI Search's query rewriting on or off (default: the instance's setting)."},
		{Name: "rerank", Type: steps.Bool, Doc: "Turn AI Search's reranking on or off (default: the instance's setting)."},
	},
	Outputs: []steps.Field{
		{Name: "answer", Type: steps.String, Doc: "The generated answer."},
		{Name: "model", Type: steps.String, Doc: "The model that answered, as AI Search reports it."},
		{Name: "sources", Type: steps.List, Doc: "The chunks the answer was given, best first: {id, score, text, filename, metadata}."},
		{Name: "texts", Type: steps.Strings, Doc: "The text of each source, in order."},
		{Name: "count", Type: steps.Int, Doc: "Number of sources."},
	},
	Version:       "1",
	Deterministic: false,
	New:           newAsker,
}

type asker struct{}

var _ steps.Step = asker{}

// newAsker checks the literal inputs that AI Search bounds.
func newAsker(s *spec.Step) (steps.Step, spec.Diagnostics) {
	var diags spec.Diagnostics
	if in := s.Input("max_results"); in != nil {
		if n, ok := literalNumber(in.Value); ok && (n != math.Trunc(n) || n < 1 || n > MaxResults) {
			diags.Errorf(in.Value.Pos, "steps."+s.ID+".with.max_results", "max_results must be an integer from 1 to %d, got %v", MaxResults, n)
		}
	}
	if in := s.Input("min_score"); in != nil {
		if n, ok := literalNumber(in.Value); ok && (n < 0 || n > 1) {
			diags.Errorf(in.Value.Pos, "steps."+s.ID+".with.min_score", "min_score must be from 0 to 1 (AI Search match_threshold), got %v", n)
		}
	}
	return asker{}, diags
}

// literalNumber reads a literal YAML number (not an expression).
func literalNumber(v *spec.Value) (float64, bool) {
	var f float64
	if v == nil || v.Node == nil || v.Node.Tag != "!!int" && v.Node.Tag != "!!float" {
		return 0, false
	}
	if _, err := fmt.Sscan(v.Node.Value, &f); err != nil {
		return 0, false
	}
	return f, true
}

// Run asks the instance and returns its answer and sources.
func (asker) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	ref, _ := call.Inputs["index"].(steps.ResourceRef)
	r, err := request(call.Inputs)
	if err != nil {
		return steps.Result{}, err
	}
	idx, is, err := call.Env.VectorIndex(ctx, ref.Name)
	if err != nil {
		return steps.Result{}, err
	}
	a, ok := idx.(providers.Answerer)
	if !ok {
		return steps.Result{}, fmt.Errorf("index %s (backend %s) cannot answer: the ai-search step needs a vector-index with backend: ai-search", ref.Name, is.Backend)
	}
	ans, err := a.Answer(ctx, r)
	if err != nil {
		return steps.Result{}, fmt.Errorf("asking %s: %w", ref.Name, err)
	}
	sources := make([]any, len(ans.Sources))
	texts := make([]string, len(ans.Sources))
	for i, m := range ans.Sources {
		name, _ := m.Metadata["filename"].(string)
		sources[i] = map[string]any{"id": m.ID, "score": m.Score, "text": m.Text, "filename": name, "metadata": m.Metadata}
		texts[i] = m.Text
	}
	return steps.Result{Output: map[string]any{"answer": ans.Text, "model": ans.Model, "sources": sources, "texts": texts, "count": len(sources)}}, nil
}

// request reads the inputs into an answer request.
func request(in map[string]any) (providers.AnswerRequest, error) {
	var r providers.AnswerRequest
	r.Query, _ = in["query"].(string)
	if r.Query == "" {
		return r, fmt.Errorf("query is empty")
	}
	r.System, _ = in["system"].(string)
	r.Model, _ = in["answer_model"].(string)
	if v, ok := in["max_results"]; ok {
		n, isInt := v.(int)
		if !isInt || n < 1 || n > MaxResults {
			return r, fmt.Errorf("max_results must be an integer from 1 to %d, got %v", MaxResults, v)
		}
		r.MaxResults = n
	}
	switch v := in["min_score"].(type) {
	case nil:
	case float64:
		r.MinScore = v
	case int:
		r.MinScore = float64(v)
	default:
		return r, fmt.Errorf("min_score must be a number, got %T", v)
	}
	if r.MinScore < 0 || r.MinScore > 1 || math.IsNaN(r.MinScore) {
		return r, fmt.Errorf("min_score must be from 0 to 1 (AI Search match_threshold), got %v", r.MinScore)
	}
	r.Filter, _ = in["filter"].(map[string]any)
	if v, ok := in["rewrite_query"].(bool); ok {
		r.RewriteQuery = &v
	}
	if v, ok := in["rerank"].(bool); ok {
		r.Rerank = &v
	}
	return r, nil
}
