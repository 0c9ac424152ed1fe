// Package search implements the "search" step kind: nearest neighbours of a vector (or of
// a text, embedded on the way), keyword (BM25) or hybrid search in a vector-index resource,
// with a metadata filter and top-k.
//
// A text query is embedded with the step's own model when it sets model: or route:, and
// otherwise with the model the index resource names (its model: setting, or the local
// embedder). The engine routes a model for every search step because the kind declares the
// embed task; it is used only to embed a text query.
//
// Results depend on what the index holds when the step runs, so the kind is not
// deterministic and is not cached unless the step sets cache: itself.
package search

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/aiflow/aiflow/internal/question"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/capability"
	"github.com/aiflow/aiflow/steps/internal/vectors"
)

func init() { steps.MustRegister(Kind) }

// MaxTopK is the largest top_k a search may ask for (Vectorize's limit without values).
const MaxTopK = 100

// DefaultMinRelative drops matches scoring under half the best match's score: far enough
// below it that they rarely answer the same question, and they would otherwise pad a small
// top_k with unrelated text (a RAG prompt or an extractive answer built from them suffers).
const DefaultMinRelative = 0.5

// metricEuclidean is the one index metric whose score is a distance.
const metricEuclidean = "euclidean"

// Kind describes the search step to the registry.
var Kind = steps.Kind{
	Name:    "search",
	Summary: "Find the nearest vectors (or best keyword matches) in a vector index.",
	Task:    providers.TaskEmbed,
	// Only a text query needs embedding; without model: or route: the index's
	// embedder is used.
	ModelOptional: true,
	Inputs: []steps.Field{
		{Name: "index", Type: steps.Resource, Required: true, Doc: "The vector index, e.g. ${ resources.kb }."},
		{Name: "vector", Type: steps.List, Doc: "The query vector, e.g. ${ steps.q.output.vector }."},
		{Name: "text", Type: steps.String, Doc: "The query text: embedded when no vector is given; the keyword query in keyword and hybrid modes."},
		{Name: "top_k", Type: steps.Int, Default: 5, Doc: fmt.Sprintf("How many matches to return (1–%d).", MaxTopK)},
		{Name: "filter", Type: steps.Object, Doc: `Metadata filter with Vectorize operators: {source: "a.md"}, {year: {"$gte": 2020}}; $eq $ne $in $nin $lt $lte $gt $gte.`},
		{Name: "namespace", Type: steps.String, Doc: "Namespace to search in."},
		{Name: "mode", Type: steps.String, Default: providers.ModeVector, Enum: []string{providers.ModeVector, providers.ModeKeyword, providers.ModeHybrid},
			Doc: "vector (nearest neighbours), keyword (BM25 over stored texts) or hybrid (both, fused: a convex combination of the normalised scores in the local index). An ai-search index uses the retrieval its instance is configured with."},
		{Name: "min_score", Type: steps.Number, Default: 0.0, Doc: "Drop matches scoring below this (a relevance floor; see the matches output for what score means per mode). Not for euclidean indexes, whose score is a distance."},
		{Name: "min_relative", Type: steps.Number, Default: DefaultMinRelative, Doc: "Drop matches scoring below this share (0–1) of the best match's score; 0 keeps them all. Ignored for euclidean indexes."},
		{Name: "question", Type: steps.Bool, Default: false, Doc: `The text is a natural-language question: its question-frame words ("how does X work", "what does X mean") are dropped from the query before it is embedded and matched, so "work" does not retrieve texts about workers.`},
		{Name: "return_metadata", Type: steps.Bool, Default: true, Doc: "Include each match's metadata."},
		{Name: "rewrite_query", Type: steps.Bool, Doc: "ai-search indexes only: turn AI Search's query rewriting on or off for this search (default: the instance's setting)."},
		{Name: "rerank", Type: steps.Bool, Doc: "ai-search indexes only: turn AI Search's reranking on or off for this search (default: the instance's setting)."},
	},
	Outputs: []steps.Field{
		{Name: "matches", Type: steps.List, Doc: "Best first: {id, score, metadata, text}. Vector mode: the index metric (cosine or dot product, higher is closer; euclidean distance, lower is closer). Local index keyword mode: BM25 over the query's self-score, 0–1 (about 1 when a text holds the whole query). Local hybrid: 0.5·cosine (clamped to 0–1) + 0.5·keyword score, 0–1."},
		{Name: "texts", Type: steps.Strings, Doc: "The stored text of each match, in match order (empty when none was stored)."},
		{Name: "count", Type: steps.Int, Doc: "Number of matches."},
	},
	Keys:          []string{"model", "route"},
	Version:       "1",
	Deterministic: false,
	New:           newSearcher,
}

// searcher runs searches; the engine routes it a model only when the step chose one.
type searcher struct{}

var _ steps.Step = searcher{}

// newSearcher checks that the step gives a query. Steps built in code (Env.Invoke, for
// agent tools) have no with: block; their inputs are checked by Run.
func newSearcher(s *spec.Step) (steps.Step, spec.Diagnostics) {
	var diags spec.Diagnostics
	declared := s.Pos.Line > 0 || len(s.With) > 0
	if declared && s.Input("vector") == nil && s.Input("text") == nil {
		pos := s.WithPos
		if pos.Line == 0 {
			pos = s.Pos
		}
		diags.Errorf(pos, "steps."+s.ID+".with", "search needs vector or text")
	}
	return searcher{}, diags
}

// query is a search call's inputs, checked.
type query struct {
	index       string
	q           providers.VectorQuery
	text        string
	minScore    float64
	minRelative float64
}

// Run queries the index, embedding a text query first when it needs a vector.
func (s searcher) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	in, err := parse(call)
	if err != nil {
		return steps.Result{}, err
	}
	idx, is, err := call.Env.VectorIndex(ctx, in.index)
	if err != nil {
		return steps.Result{}, err
	}
	if ts, ok := idx.(providers.TextSearcher); ok {
		return searchText(ctx, call, ts, idx, is, in)
	}
	if _, set := call.Inputs["rewrite_query"]; set {
		return steps.Result{}, fmt.Errorf("rewrite_query applies to ai-search indexes only; %s is a %s index", in.index, is.Backend)
	}
	if _, set := call.Inputs["rerank"]; set {
		return steps.Result{}, fmt.Errorf("rerank applies to ai-search indexes only; %s is a %s index", in.index, is.Backend)
	}
	var res steps.Result
	if in.q.Mode != providers.ModeKeyword && in.q.Vector == nil {
		if res, in.q.Vector, err = s.embed(ctx, call, in); err != nil {
			return steps.Result{}, err
		}
	}
	if err := checkDims(ctx, idx, is, in, res.ModelRef); err != nil {
		return steps.Result{}, err
	}
	matches, err := idx.Query(ctx, in.q)
	if err != nil {
		return steps.Result{}, fmt.Errorf("searching %s: %w", in.index, err)
	}
	if matches, err = applyFloors(ctx, idx, is, in, matches); err != nil {
		return steps.Result{}, err
	}
	res.Output = output(matches)
	return res, nil
}

// searchText queries an index that searches by text itself (an AI Search instance):
// the text goes as is, with top_k as the result count, min_score as the match
// threshold, the filter, and the rewrite and rerank switches; nothing is embedded.
func searchText(ctx context.Context, call *steps.Call, ts providers.TextSearcher, idx providers.VectorIndex, is providers.IndexSpec, in query) (steps.Result, error) {
	if in.text == "" {
		return steps.Result{}, fmt.Errorf("index %s is searched by text (AI Search embeds the query itself): give text:, not vector:", in.index)
	}
	q := providers.TextSearch{Query: in.text, MaxResults: in.q.TopK, MinScore: in.minScore, Filter: in.q.Filter}
	if v, ok := call.Inputs["rewrite_query"].(bool); ok {
		q.RewriteQuery = &v
	}
	if v, ok := call.Inputs["rerank"].(bool); ok {
		q.Rerank = &v
	}
	found, err := ts.SearchText(ctx, q)
	if err != nil {
		return steps.Result{}, fmt.Errorf("searching %s: %w", in.index, err)
	}
	matches, err := applyFloors(ctx, idx, is, in, found.Matches)
	if err != nil {
		return steps.Result{}, err
	}
	return steps.Result{Output: output(matches)}, nil
}

// parse reads and checks the inputs.
func parse(call *steps.Call) (query, error) {
	var err error
	ref, _ := call.Inputs["index"].(steps.ResourceRef)
	in := query{index: ref.Name}
	in.text, _ = call.Inputs["text"].(string)
	if isQuestion, _ := call.Inputs["question"].(bool); isQuestion {
		in.text = question.Query(in.text)
	}
	q := &in.q
	q.Text = in.text
	q.Mode, _ = call.Inputs["mode"].(string)
	if q.Mode == "" {
		q.Mode = providers.ModeVector
	}
	q.TopK, _ = call.Inputs["top_k"].(int)
	if q.TopK < 1 || q.TopK > MaxTopK {
		return in, fmt.Errorf("top_k must be from 1 to %d, got %d", MaxTopK, q.TopK)
	}
	if in.minScore, err = number(call.Inputs, "min_score"); err != nil {
		return in, err
	}
	if in.minRelative, err = number(call.Inputs, "min_relative"); err != nil {
		return in, err
	}
	if in.minRelative < 0 || in.minRelative > 1 {
		return in, fmt.Errorf("min_relative must be from 0 to 1 (a share of the best match's score), got %v", in.minRelative)
	}
	q.Filter, _ = call.Inputs["filter"].(map[string]any)
	q.Namespace, _ = call.Inputs["namespace"].(string)
	q.ReturnMetadata, _ = call.Inputs["return_metadata"].(bool)
	if v, ok := call.Inputs["vector"]; ok {
		vals, err := vectors.Floats(v)
		if err != nil {
			return in, fmt.Errorf("vector: %w", err)
		}
		q.Vector = vals
	}
	switch {
	case q.Mode != providers.ModeVector && in.text == "":
		return in, fmt.Errorf("%s search needs text", q.Mode)
	case q.Vector == nil && in.text == "":
		return in, errors.New("search needs vector or text")
	}
	return in, nil
}

// embed turns the query text into a vector with the step's model or the index's embedder.
func (s searcher) embed(ctx context.Context, call *steps.Call, in query) (steps.Result, []float32, error) {
	m := call.Model // nil unless the step (or an agent tool) chose a model
	if m == nil {
		var err error
		if m, err = call.Env.IndexEmbedder(ctx, in.index); err != nil {
			return steps.Result{}, nil, fmt.Errorf("finding the embedder of %s: %w", in.index, err)
		}
	}
	e, err := capability.Of[providers.Embedder](m, providers.TaskEmbed)
	if err != nil {
		return steps.Result{}, nil, err
	}
	resp, err := e.Embed(ctx, providers.EmbedRequest{Model: m.ID, Texts: []string{in.text}, Gateway: m.Gateway})
	if err != nil {
		return steps.Result{}, nil, fmt.Errorf("embedding the query with %s: %w", m.Ref(), err)
	}
	if len(resp.Vectors) != 1 {
		return steps.Result{}, nil, fmt.Errorf("embedding the query with %s: got %d vectors for 1 text", m.Ref(), len(resp.Vectors))
	}
	return steps.Result{Usage: resp.Usage, Meta: resp.Meta, ModelRef: m.Ref()}, resp.Vectors[0], nil
}

// checkDims compares the query vector's size with the index's.
func checkDims(ctx context.Context, idx providers.VectorIndex, is providers.IndexSpec, in query, embedder string) error {
	if in.q.Vector == nil {
		return nil
	}
	want := is.Dimensions
	if want == 0 {
		info, err := idx.Info(ctx)
		if err != nil {
			return fmt.Errorf("reading index %s: %w", in.index, err)
		}
		want = info.Dimensions
	}
	if want == 0 || len(in.q.Vector) == want {
		return nil
	}
	if embedder != "" {
		return fmt.Errorf("the query embedded with %s has %d dimensions but index %s has %d: embed queries with the model that embedded the documents (set model: on the step or on resources.%s)",
			embedder, len(in.q.Vector), in.index, want, in.index)
	}
	return fmt.Errorf("the query vector has %d dimensions but index %s has %d", len(in.q.Vector), in.index, want)
}

func output(ms []providers.Match) map[string]any {
	list := make([]any, len(ms))
	texts := make([]string, len(ms))
	for i, m := range ms {
		list[i] = map[string]any{"id": m.ID, "score": m.Score, "metadata": m.Metadata, "text": m.Text}
		texts[i] = m.Text
	}
	return map[string]any{"matches": list, "texts": texts, "count": len(ms)}
}

// number reads an optional numeric input (0 when absent).
func number(inputs map[string]any, name string) (float64, error) {
	switch v := inputs[name].(type) {
	case nil:
		return 0, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("%s must be a finite number, got %v", name, v)
		}
		return v, nil
	case int:
		return float64(v), nil
	case string:
		return 0, fmt.Errorf("%s must be a number, got the string %q", name, v)
	default:
		return 0, fmt.Errorf("%s must be a number, got %T", name, v)
	}
}

// applyFloors drops matches below min_score and below min_relative × the best score. Both
// need a similarity (higher is closer): an euclidean index's score is a distance, so
// min_score is refused there and min_relative does not apply. A relative floor needs a
// positive best score.
func applyFloors(ctx context.Context, idx providers.VectorIndex, is providers.IndexSpec, in query, ms []providers.Match) ([]providers.Match, error) {
	if len(ms) == 0 || in.minScore == 0 && in.minRelative == 0 {
		return ms, nil
	}
	metric := is.Metric
	if metric == "" {
		info, err := idx.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading index %s: %w", in.index, err)
		}
		metric = info.Metric
	}
	if metric == metricEuclidean && in.q.Mode == providers.ModeVector {
		if in.minScore != 0 {
			return nil, fmt.Errorf("min_score needs a similarity score, but index %s uses euclidean distance (lower is closer); remove min_score or use a cosine index", in.index)
		}
		return ms, nil
	}
	floor := in.minScore
	if best := ms[0].Score; best > 0 {
		floor = max(floor, in.minRelative*best)
	}
	kept := ms[:0:0]
	for _, m := range ms {
		if m.Score >= floor {
			kept = append(kept, m)
		}
	}
	return kept, nil
}
