package providers

import "context"

// TextSearch is a retrieval query for a managed search service (Cloudflare AI Search)
// that embeds, rewrites and ranks the query itself, so aiflow sends the text rather
// than a vector. Zero values leave the service's own setting in place.
type TextSearch struct {
	Query string
	// MaxResults is how many chunks to return (AI Search max_num_results, 1–50).
	MaxResults int
	// MinScore drops chunks scoring below it (AI Search match_threshold, 0–1).
	MinScore float64
	// Filter uses Vectorize's operators ($eq $ne $in $nin $lt $lte $gt $gte) over the
	// service's metadata attributes (AI Search: folder, filename, timestamp, custom fields).
	Filter map[string]any
	// RewriteQuery, when set, turns the service's query rewriting on or off.
	RewriteQuery *bool
	// Rerank, when set, turns the service's reranking on or off.
	Rerank *bool
}

// TextSearchResult is what a text search found, best first.
type TextSearchResult struct {
	// SearchQuery is the query the service searched with (after any rewriting).
	SearchQuery string
	Matches     []Match
}

// TextSearcher is a VectorIndex that searches by text itself. The search step passes it
// the query text instead of embedding it first.
type TextSearcher interface {
	SearchText(ctx context.Context, q TextSearch) (TextSearchResult, error)
}

// AnswerRequest asks a managed search service to retrieve and then answer.
type AnswerRequest struct {
	TextSearch
	// System is an optional system prompt for the answering model.
	System string
	// Model is the service's answering model; "" keeps the instance's default.
	Model string
}

// Answer is a generated answer with the sources it was given.
type Answer struct {
	Text    string
	Model   string
	Sources []Match
}

// Answerer is a VectorIndex whose service can answer a question from what it retrieves
// (AI Search chat completions); the ai-search step uses it.
type Answerer interface {
	Answer(ctx context.Context, r AnswerRequest) (Answer, error)
}
