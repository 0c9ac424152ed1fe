// Package aisearch reads an existing Cloudflare AI Search instance (formerly AutoRAG):
// the `ai-search` vector-index backend. AI Search indexes its own data source (an R2
// bucket or a website), embeds and rewrites queries and ranks results itself, so aiflow
// neither writes to it nor creates or deletes it: `apply` checks that the instance
// exists, `destroy` leaves it, and the search step sends the query text instead of a
// vector. The ai-search step asks the instance to answer as well.
//
// The calls are the instance endpoints of the current published API, through
// github.com/cloudflare/cloudflare-go/v6's ai_search package (generated from
// Cloudflare's OpenAPI schema): GET /accounts/{account_id}/ai-search/instances/{id},
// POST …/{id}/search and POST …/{id}/chat/completions. The older AutoRAG paths
// (/autorag/rags/{id}/search and /ai-search) are not used.
package aisearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/cloudflare/cloudflare-go/v6"
	as "github.com/cloudflare/cloudflare-go/v6/ai_search"
	"github.com/cloudflare/cloudflare-go/v6/option"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

// Name is the backend name in flow files (`backend: ai-search`).
const Name = "ai-search"

// DefaultBaseURL is the Cloudflare API.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// MaxResults is the most chunks one search may return (AI Search max_num_results, 1–50).
const MaxResults = 50

func init() {
	providers.MustRegisterIndexBackend(providers.IndexBackendInfo{Name: Name, New: New, External: true})
}

var (
	_ providers.IndexBackend = (*Backend)(nil)
	_ providers.VectorIndex  = (*Instance)(nil)
	_ providers.TextSearcher = (*Instance)(nil)
	_ providers.Answerer     = (*Instance)(nil)
)

// Credentials is implemented by providers that lend their Cloudflare account (the
// workers-ai provider).
type Credentials interface {
	CloudflareCredentials() (accountID, token, baseURL string)
}

// instanceName is AI Search's published id rule ("Lowercase alphanumeric, hyphens, and
// underscores", cloudflare-go v6.10.0 ai_search.InstanceReadResponse.ID).
var instanceName = regexp.MustCompile(`^[a-z0-9_-]+$`)

// Backend reads the AI Search instances of one account.
type Backend struct {
	svc     *as.InstanceService
	account string
}

// New resolves the account from the resource's provider (or account_id and api_token
// settings) and builds the client, with aiflow's retrying, redacting transport and the
// SDK's own retries off.
func New(cfg providers.IndexBackendConfig) (providers.IndexBackend, error) {
	var id, token, base string
	if c, ok := cfg.Provider.(Credentials); ok {
		id, token, base = c.CloudflareCredentials()
	}
	for key, dst := range map[string]*string{"account_id": &id, "api_token": &token, "base_url": &base} {
		if v, ok := cfg.Settings[key]; ok {
			s, isStr := v.(string)
			if !isStr {
				return nil, fmt.Errorf("ai-search backend: %s must be a string, got %T", key, v)
			}
			if s != "" {
				*dst = s
			}
		}
	}
	if id == "" || token == "" {
		return nil, errors.New("ai-search backend: no Cloudflare account: name a workers-ai provider (provider: <name>) or set account_id and api_token")
	}
	if base == "" {
		base = DefaultBaseURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ai-search backend: base_url: %q is not an http(s) URL", base)
	}
	hc := transport.New(transport.Options{Provider: Name, Retry: cfg.Retry, Secrets: []string{token}})
	svc := as.NewInstanceService(
		option.WithHTTPClient(hc),
		option.WithMaxRetries(0),
		option.WithBaseURL(strings.TrimSuffix(base, "/")+"/"),
		option.WithAPIToken(token),
	)
	return &Backend{svc: svc, account: id}, nil
}

// checkName refuses an instance id AI Search would not accept.
func checkName(name string) error {
	if !instanceName.MatchString(name) {
		return fmt.Errorf("ai-search instance %q: ids are lowercase letters, digits, - and _", name)
	}
	return nil
}

// Open returns the instance named spec.Name after checking that it exists. create is
// ignored: aiflow never creates AI Search instances.
func (b *Backend) Open(ctx context.Context, spec providers.IndexSpec, _ bool) (providers.VectorIndex, error) {
	if err := checkName(spec.Name); err != nil {
		return nil, err
	}
	_, ok, err := b.Describe(ctx, spec)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("ai-search instance %q does not exist in account %s; aiflow uses existing instances only: create it in the dashboard or with `wrangler ai-search create %s`", spec.Name, b.account, spec.Name)
	}
	return &Instance{b: b, name: spec.Name}, nil
}

// Describe reports whether the instance exists. AI Search does not expose vectors, so
// the info is empty.
func (b *Backend) Describe(ctx context.Context, spec providers.IndexSpec) (providers.IndexInfo, bool, error) {
	if err := checkName(spec.Name); err != nil {
		return providers.IndexInfo{}, false, err
	}
	_, err := b.svc.Read(ctx, spec.Name, as.InstanceReadParams{AccountID: cloudflare.F(b.account)})
	if isNotFound(err) {
		return providers.IndexInfo{}, false, nil
	}
	if err != nil {
		return providers.IndexInfo{}, false, fmt.Errorf("ai-search instance %q: reading: %w", spec.Name, transport.Cause(err))
	}
	return providers.IndexInfo{}, true, nil
}

// Delete does nothing: the instance, and its data source, belong to whoever made them.
func (b *Backend) Delete(context.Context, providers.IndexSpec) error { return nil }

// Instance is an open AI Search instance.
type Instance struct {
	b    *Backend
	name string
}

var errReadOnly = errors.New("AI Search indexes its own data source; aiflow cannot write to it (upload to the instance's R2 bucket instead)")

// Upsert is refused: see errReadOnly.
func (x *Instance) Upsert(context.Context, []providers.Vector) (int, error) {
	return 0, fmt.Errorf("ai-search instance %q: %w", x.name, errReadOnly)
}

// GetByIDs is refused: AI Search has no vector read API.
func (x *Instance) GetByIDs(context.Context, []string) ([]providers.Vector, error) {
	return nil, fmt.Errorf("ai-search instance %q: AI Search returns chunks from searches only, not by id", x.name)
}

// DeleteByIDs is refused: see errReadOnly.
func (x *Instance) DeleteByIDs(context.Context, []string) (int, error) {
	return 0, fmt.Errorf("ai-search instance %q: %w", x.name, errReadOnly)
}

// Info is empty: AI Search does not expose dimensions or counts of vectors.
func (x *Instance) Info(context.Context) (providers.IndexInfo, error) {
	return providers.IndexInfo{}, nil
}

// Close does nothing.
func (x *Instance) Close() error { return nil }

// Query searches with the query's text; AI Search embeds it itself, so a vector alone
// cannot be searched.
func (x *Instance) Query(ctx context.Context, q providers.VectorQuery) ([]providers.Match, error) {
	if q.Text == "" {
		return nil, fmt.Errorf("ai-search instance %q: AI Search searches by text; give the search step text:", x.name)
	}
	res, err := x.SearchText(ctx, providers.TextSearch{Query: q.Text, MaxResults: q.TopK, Filter: q.Filter})
	return res.Matches, err
}

// checkSearch validates the parts of a query that AI Search bounds.
func checkSearch(q providers.TextSearch) error {
	switch {
	case strings.TrimSpace(q.Query) == "":
		return errors.New("the query is empty")
	case q.MaxResults < 0 || q.MaxResults > MaxResults:
		return fmt.Errorf("max results must be from 1 to %d, got %d", MaxResults, q.MaxResults)
	case q.MinScore < 0 || q.MinScore > 1:
		return fmt.Errorf("min_score must be from 0 to 1 (AI Search match_threshold), got %v", q.MinScore)
	}
	return nil
}

// warmOnce guards warmEncoders.
var warmOnce sync.Once

// warmEncoders has cloudflare-go build, once and alone, the JSON encoders of both request
// types with filters holding every kind of value a flow can give them. Its encoder builds
// the encoder of a filter value's dynamic type on first use inside an encoder that every
// goroutine shares, writing that encoder's fields (a data race when the first requests
// go out at once, TestConcurrentFirstRequests); once built they are only read.
func warmEncoders() {
	warmOnce.Do(func() {
		yes := true
		values := []any{"", 0.0, 0, int64(0), false, nil}
		filter := map[string]any{"list": append([]any{[]any{}, map[string]any{}}, values...)}
		nested := map[string]any{}
		for i, v := range values {
			key := fmt.Sprint("v", i)
			filter[key], nested[key] = v, v
		}
		filter["object"], nested["list"] = nested, []any{}
		o, _ := searchOptions(providers.TextSearch{MaxResults: 1, MinScore: 0.5, Filter: filter, RewriteQuery: &yes, Rerank: &yes})
		_, _ = json.Marshal(as.InstanceSearchParams{Query: cloudflare.F(""), AISearchOptions: cloudflare.F(o)})
		_, _ = json.Marshal(as.InstanceChatCompletionsParams{Stream: cloudflare.F(false), Model: cloudflare.F(as.InstanceChatCompletionsParamsModel("m")),
			Messages:        cloudflare.F([]as.InstanceChatCompletionsParamsMessage{{Role: cloudflare.F(as.InstanceChatCompletionsParamsMessagesRoleUser), Content: cloudflare.F("")}}),
			AISearchOptions: cloudflare.F(chatOptions(o))})
	})
}

// SearchText runs POST …/search.
func (x *Instance) SearchText(ctx context.Context, q providers.TextSearch) (providers.TextSearchResult, error) {
	warmEncoders()
	if err := checkSearch(q); err != nil {
		return providers.TextSearchResult{}, fmt.Errorf("ai-search instance %q: %w", x.name, err)
	}
	p := as.InstanceSearchParams{AccountID: cloudflare.F(x.b.account), Query: cloudflare.F(q.Query)}
	if o, ok := searchOptions(q); ok {
		p.AISearchOptions = cloudflare.F(o)
	}
	res, err := x.b.svc.Search(ctx, x.name, p)
	if err != nil {
		return providers.TextSearchResult{}, fmt.Errorf("ai-search instance %q: searching: %w", x.name, transport.Cause(err))
	}
	out := providers.TextSearchResult{SearchQuery: res.SearchQuery, Matches: make([]providers.Match, len(res.Chunks))}
	for i, c := range res.Chunks {
		out.Matches[i] = match(c.ID, c.Score, c.Text, c.Item.Key, c.Item.Timestamp, c.Item.Metadata)
	}
	return out, nil
}

// Answer runs POST …/chat/completions with the query as the user message.
func (x *Instance) Answer(ctx context.Context, r providers.AnswerRequest) (providers.Answer, error) {
	warmEncoders()
	if err := checkSearch(r.TextSearch); err != nil {
		return providers.Answer{}, fmt.Errorf("ai-search instance %q: %w", x.name, err)
	}
	var msgs []as.InstanceChatCompletionsParamsMessage
	if r.System != "" {
		msgs = append(msgs, as.InstanceChatCompletionsParamsMessage{Role: cloudflare.F(as.InstanceChatCompletionsParamsMessagesRoleSystem), Content: cloudflare.F(r.System)})
	}
	msgs = append(msgs, as.InstanceChatCompletionsParamsMessage{Role: cloudflare.F(as.InstanceChatCompletionsParamsMessagesRoleUser), Content: cloudflare.F(r.Query)})
	p := as.InstanceChatCompletionsParams{AccountID: cloudflare.F(x.b.account), Messages: cloudflare.F(msgs), Stream: cloudflare.F(false)}
	if r.Model != "" {
		p.Model = cloudflare.F(as.InstanceChatCompletionsParamsModel(r.Model))
	}
	if o, ok := searchOptions(r.TextSearch); ok {
		p.AISearchOptions = cloudflare.F(chatOptions(o))
	}
	res, err := x.b.svc.ChatCompletions(ctx, x.name, p)
	if err != nil {
		return providers.Answer{}, fmt.Errorf("ai-search instance %q: answering: %w", x.name, transport.Cause(err))
	}
	out := providers.Answer{Model: res.Model, Sources: make([]providers.Match, len(res.Chunks))}
	if len(res.Choices) > 0 {
		out.Text = res.Choices[0].Message.Content
	}
	for i, c := range res.Chunks {
		out.Sources[i] = match(c.ID, c.Score, c.Text, c.Item.Key, c.Item.Timestamp, c.Item.Metadata)
	}
	return out, nil
}

// match turns a chunk into a Match whose metadata carries the object key (as filename)
// and timestamp besides the custom metadata.
func match(id string, score float64, text, key string, ts float64, meta map[string]any) providers.Match {
	md := map[string]any{"filename": key}
	if ts != 0 {
		md["timestamp"] = ts
	}
	for k, v := range meta {
		md[k] = v
	}
	return providers.Match{ID: id, Score: score, Text: text, Metadata: md}
}

// searchOptions builds ai_search_options; ok is false when every option is the instance's.
func searchOptions(q providers.TextSearch) (as.InstanceSearchParamsAISearchOptions, bool) {
	var o as.InstanceSearchParamsAISearchOptions
	set := false
	var r as.InstanceSearchParamsAISearchOptionsRetrieval
	rset := false
	if q.MaxResults > 0 {
		r.MaxNumResults, rset = cloudflare.F(int64(q.MaxResults)), true
	}
	if q.MinScore > 0 {
		r.MatchThreshold, rset = cloudflare.F(q.MinScore), true
	}
	if len(q.Filter) > 0 {
		r.Filters, rset = cloudflare.F(q.Filter), true
	}
	if rset {
		o.Retrieval, set = cloudflare.F(r), true
	}
	if q.RewriteQuery != nil {
		o.QueryRewrite, set = cloudflare.F(as.InstanceSearchParamsAISearchOptionsQueryRewrite{Enabled: cloudflare.F(*q.RewriteQuery)}), true
	}
	if q.Rerank != nil {
		o.Reranking, set = cloudflare.F(as.InstanceSearchParamsAISearchOptionsReranking{Enabled: cloudflare.F(*q.Rerank)}), true
	}
	return o, set
}

// chatOptions copies search options into the chat request's type (same fields).
func chatOptions(o as.InstanceSearchParamsAISearchOptions) as.InstanceChatCompletionsParamsAISearchOptions {
	var c as.InstanceChatCompletionsParamsAISearchOptions
	if o.Retrieval.Present {
		r := o.Retrieval.Value
		c.Retrieval = cloudflare.F(as.InstanceChatCompletionsParamsAISearchOptionsRetrieval{
			MaxNumResults: r.MaxNumResults, MatchThreshold: r.MatchThreshold, Filters: r.Filters})
	}
	if o.QueryRewrite.Present {
		c.QueryRewrite = cloudflare.F(as.InstanceChatCompletionsParamsAISearchOptionsQueryRewrite{Enabled: o.QueryRewrite.Value.Enabled})
	}
	if o.Reranking.Present {
		c.Reranking = cloudflare.F(as.InstanceChatCompletionsParamsAISearchOptionsReranking{Enabled: o.Reranking.Value.Enabled})
	}
	return c
}

func isNotFound(err error) bool {
	var pe *providers.Error
	return errors.As(err, &pe) && pe.Status == http.StatusNotFound
}
