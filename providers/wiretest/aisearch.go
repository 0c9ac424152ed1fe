package wiretest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"weak"
)

// AISearch is the AI Search (formerly AutoRAG) part of a Cloudflare emulator, reached
// with Cloudflare.AISearch. It serves the instance endpoints of the current published
// API (cloudflare-go v6.10.0, package ai_search): GET /ai-search/instances/{id},
// POST …/{id}/search (the Cloudflare envelope around {search_query, chunks}) and POST
// …/{id}/chat/completions (an OpenAI chat completion plus chunks, not enveloped).
//
// Instances are added by tests with their documents; search ranks each document by the
// share of query words it contains (a stand-in for the real hybrid retrieval), after the
// filters, which use Vectorize's operators over the built-in attributes (filename,
// folder, timestamp) and custom metadata. Request bodies are checked against the
// published parameter shapes (unknown keys, query xor messages, enums and ranges) and
// rejected with 400 and the Cloudflare envelope. Safe for concurrent use.
type AISearch struct {
	mu        sync.Mutex
	instances map[string]*asInstance
	requests  []AISearchRequest
}

// AISearchDoc is one indexed document of an emulated instance.
type AISearchDoc struct {
	Key       string         // the object key, e.g. "docs/intro.md"
	Text      string         // the chunk text
	Timestamp float64        // last modified, Unix milliseconds
	Metadata  map[string]any // custom metadata
}

// AISearchRequest is a search or chat request as the emulator received it.
type AISearchRequest struct {
	Instance string
	Path     string         // "search" or "chat/completions"
	Body     map[string]any // the decoded JSON body
}

type asInstance struct {
	id      string
	created time.Time
	docs    []AISearchDoc
}

var asStates = struct {
	sync.Mutex
	m map[weak.Pointer[Cloudflare]]*AISearch
}{m: map[weak.Pointer[Cloudflare]]*AISearch{}}

// AISearch returns the emulator's AI Search state, creating it on first use.
func (cf *Cloudflare) AISearch() *AISearch {
	key := weak.Make(cf)
	asStates.Lock()
	defer asStates.Unlock()
	if a, ok := asStates.m[key]; ok {
		return a
	}
	a := &AISearch{instances: map[string]*asInstance{}}
	asStates.m[key] = a
	runtime.AddCleanup(cf, func(k weak.Pointer[Cloudflare]) {
		asStates.Lock()
		delete(asStates.m, k)
		asStates.Unlock()
	}, key)
	return a
}

// AddInstance creates (or replaces) an instance holding docs, as the dashboard would
// after indexing its data source.
func (a *AISearch) AddInstance(id string, docs ...AISearchDoc) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.instances[id] = &asInstance{id: id, created: time.Now().UTC(), docs: docs}
}

// Requests returns the search and chat requests received, in order.
func (a *AISearch) Requests() []AISearchRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]AISearchRequest(nil), a.requests...)
}

const asPrefix = "client/v4/accounts/{acct}/ai-search/instances/{id}"

func init() {
	registerCFRoute(cfRoute{http.MethodGet, asPrefix, (*Cloudflare).asRead})
	registerCFRoute(cfRoute{http.MethodPost, asPrefix + "/search", (*Cloudflare).asSearch})
	registerCFRoute(cfRoute{http.MethodPost, asPrefix + "/chat/completions", (*Cloudflare).asChat})
}

// asCodeInvalid is the code of a rejected AI Search request: the emulator's choice, as
// the API does not publish its codes.
const asCodeInvalid = 7400

// asInstanceFor authenticates, applies a queued fault and finds the instance.
func (cf *Cloudflare) asInstanceFor(w http.ResponseWriter, c *cfCall) (*asInstance, bool) {
	if !cf.authorized(w, c) {
		return nil, false
	}
	if f := cf.Faults.next(c.r.URL.EscapedPath()); f != nil {
		if cfWait(c.r, f.Delay) {
			cfFault(w, f)
		}
		return nil, false
	}
	a := cf.AISearch()
	a.mu.Lock()
	inst, ok := a.instances[c.params["id"]]
	a.mu.Unlock()
	if !ok {
		cfError(w, http.StatusNotFound, cfErr{7404, fmt.Sprintf("AI Search instance %q not found", c.params["id"])})
		return nil, false
	}
	return inst, true
}

// asRead answers GET /ai-search/instances/{id} with the fields the emulator knows.
func (cf *Cloudflare) asRead(w http.ResponseWriter, c *cfCall) {
	inst, ok := cf.asInstanceFor(w, c)
	if !ok {
		return
	}
	cfOK(w, map[string]any{"id": inst.id, "created_at": inst.created, "modified_at": inst.created, "enable": true,
		"type": "r2", "source": inst.id + "-bucket", "max_num_results": 10, "index_method": map[string]any{"vector": true, "keyword": true}})
}

// asSearch answers POST …/search.
func (cf *Cloudflare) asSearch(w http.ResponseWriter, c *cfCall) {
	inst, ok := cf.asInstanceFor(w, c)
	if !ok {
		return
	}
	body, q, msg := cf.asParse(c, false)
	if msg != "" {
		cf.conform.add("ai-search search: " + msg)
		cfError(w, http.StatusBadRequest, cfErr{asCodeInvalid, msg})
		return
	}
	cf.AISearch().record(inst.id, "search", body)
	chunks := inst.search(q)
	cfOK(w, map[string]any{"search_query": q.query, "chunks": chunks})
}

// asChat answers POST …/chat/completions: an answer built from the retrieved chunks.
func (cf *Cloudflare) asChat(w http.ResponseWriter, c *cfCall) {
	inst, ok := cf.asInstanceFor(w, c)
	if !ok {
		return
	}
	body, q, msg := cf.asParse(c, true)
	if msg != "" {
		cf.conform.add("ai-search chat/completions: " + msg)
		cfError(w, http.StatusBadRequest, cfErr{asCodeInvalid, msg})
		return
	}
	cf.AISearch().record(inst.id, "chat/completions", body)
	chunks := inst.search(q)
	answer := "I could not find this in the indexed documents."
	if len(chunks) > 0 {
		answer = fmt.Sprintf("According to %s: %s", chunks[0]["item"].(map[string]any)["key"], chunks[0]["text"])
	}
	model, _ := body["model"].(string)
	if model == "" {
		model = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	}
	cfJSON(w, http.StatusOK, map[string]any{"id": "chatcmpl-" + newUUID()[:8], "object": "chat.completion", "model": model,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": answer}}},
		"chunks":  chunks})
}

func (a *AISearch) record(id, path string, body map[string]any) {
	a.mu.Lock()
	a.requests = append(a.requests, AISearchRequest{Instance: id, Path: path, Body: body})
	a.mu.Unlock()
}

// asQuery is a checked request.
type asQuery struct {
	query     string
	max       int
	threshold float64
	filter    vzFilter
}

// asAllowed lists the keys of each object of a request, from cloudflare-go v6.10.0's
// InstanceSearchParams and InstanceChatCompletionsParams.
var asAllowed = map[string][]string{
	"search":        {"query", "messages", "ai_search_options"},
	"chat":          {"messages", "ai_search_options", "model", "stream"},
	"options":       {"cache", "query_rewrite", "reranking", "retrieval"},
	"cache":         {"cache_threshold", "enabled"},
	"query_rewrite": {"enabled", "model", "rewrite_prompt"},
	"reranking":     {"enabled", "match_threshold", "model"},
	"retrieval":     {"boost_by", "context_expansion", "filters", "fusion_method", "keyword_match_mode", "match_threshold", "max_num_results", "retrieval_type", "return_on_failure"},
	"message":       {"content", "role"},
}

// asParse decodes and checks a search (chat false) or chat body.
func (cf *Cloudflare) asParse(c *cfCall, chat bool) (map[string]any, asQuery, string) {
	q := asQuery{max: 10}
	var body map[string]any
	if err := json.Unmarshal(c.body, &body); err != nil {
		return nil, q, "Failed to parse the request body as JSON: " + err.Error()
	}
	top := "search"
	if chat {
		top = "chat"
	}
	if msg := asKeys(body, top, "/"); msg != "" {
		return nil, q, msg
	}
	text, msg := asText(body, chat)
	if msg != "" {
		return nil, q, msg
	}
	q.query = text
	if chat {
		if s, ok := body["stream"].(bool); ok && s {
			return nil, q, "/stream: the emulator answers only stream: false"
		}
	}
	opts, msg := asObject(body, "ai_search_options", "options", "/ai_search_options")
	if msg != "" || opts == nil {
		return body, q, msg
	}
	for _, sub := range []string{"cache", "query_rewrite", "reranking"} {
		if o, msg := asObject(opts, sub, sub, "/ai_search_options/"+sub); msg != "" {
			return nil, q, msg
		} else if o != nil {
			if v, ok := o["enabled"]; ok {
				if _, isBool := v.(bool); !isBool {
					return nil, q, fmt.Sprintf("/ai_search_options/%s/enabled: must be a boolean", sub)
				}
			}
		}
	}
	r, msg := asObject(opts, "retrieval", "retrieval", "/ai_search_options/retrieval")
	if msg != "" || r == nil {
		return body, q, msg
	}
	if v, ok := r["max_num_results"]; ok {
		n, isNum := v.(float64)
		if !isNum || n != float64(int(n)) || n < 1 || n > 50 {
			return nil, q, fmt.Sprintf("/ai_search_options/retrieval/max_num_results: %v must be an integer from 1 to 50", v)
		}
		q.max = int(n)
	}
	if v, ok := r["match_threshold"]; ok {
		f, isNum := v.(float64)
		if !isNum || f < 0 || f > 1 {
			return nil, q, fmt.Sprintf("/ai_search_options/retrieval/match_threshold: %v must be a number from 0 to 1", v)
		}
		q.threshold = f
	}
	if v, ok := r["retrieval_type"]; ok && v != "vector" && v != "keyword" && v != "hybrid" {
		return nil, q, fmt.Sprintf("/ai_search_options/retrieval/retrieval_type: %v is not one of vector, keyword, hybrid", v)
	}
	if v, ok := r["filters"]; ok {
		raw, _ := json.Marshal(v)
		f, msg := vzCompileFilter(raw)
		if msg != "" {
			return nil, q, "/ai_search_options/retrieval/filters: " + msg
		}
		q.filter = f
	}
	return body, q, ""
}

// asText returns the query: query (search only) or the last user message; search takes
// one of them, not both.
func asText(body map[string]any, chat bool) (string, string) {
	query, hasQuery := body["query"]
	msgs, hasMsgs := body["messages"]
	if !chat && hasQuery == hasMsgs {
		return "", "/: provide either query or messages, not both"
	}
	if chat && !hasMsgs {
		return "", `/: required property "messages" is missing`
	}
	if hasQuery {
		s, ok := query.(string)
		if !ok || strings.TrimSpace(s) == "" {
			return "", "/query: must be a non-empty string"
		}
		return s, ""
	}
	list, ok := msgs.([]any)
	if !ok || len(list) == 0 {
		return "", "/messages: must be a non-empty array"
	}
	last := ""
	for i, m := range list {
		mm, ok := m.(map[string]any)
		if !ok {
			return "", fmt.Sprintf("/messages/%d: must be an object", i)
		}
		if msg := asKeys(mm, "message", fmt.Sprintf("/messages/%d", i)); msg != "" {
			return "", msg
		}
		role, _ := mm["role"].(string)
		content, isStr := mm["content"].(string)
		switch role {
		case "system", "developer", "user", "assistant", "tool":
		default:
			return "", fmt.Sprintf("/messages/%d/role: %q is not one of system, developer, user, assistant, tool", i, role)
		}
		if !isStr {
			return "", fmt.Sprintf(`/messages/%d: required property "content" is missing or not a string`, i)
		}
		if role == "user" {
			last = content
		}
	}
	if last == "" {
		return "", "/messages: no user message to search for"
	}
	return last, ""
}

// asObject returns body[key] as an object (nil when absent), checking its keys.
func asObject(body map[string]any, key, kind, at string) (map[string]any, string) {
	v, ok := body[key]
	if !ok {
		return nil, ""
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, at + ": must be an object"
	}
	return m, asKeys(m, kind, at)
}

// asKeys rejects keys the published parameters do not have.
func asKeys(m map[string]any, kind, at string) string {
	allowed := asAllowed[kind]
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !oaContains(allowed, k) {
			return fmt.Sprintf("%s: property %q is not allowed (accepted: %s)", at, k, strings.Join(allowed, ", "))
		}
	}
	return ""
}

// search ranks the instance's documents for q.
func (inst *asInstance) search(q asQuery) []map[string]any {
	words := asWords(q.query)
	type hit struct {
		doc   AISearchDoc
		score float64
	}
	var hits []hit
	for _, d := range inst.docs {
		if !q.filter.holdsFor(d) {
			continue
		}
		have := map[string]bool{}
		for _, w := range asWords(d.Text) {
			have[w] = true
		}
		n := 0
		for _, w := range words {
			if have[w] {
				n++
			}
		}
		if n == 0 || len(words) == 0 {
			continue
		}
		s := float64(n) / float64(len(words))
		if s < q.threshold {
			continue
		}
		hits = append(hits, hit{d, s})
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].score > hits[j].score })
	if len(hits) > q.max {
		hits = hits[:q.max]
	}
	out := make([]map[string]any, len(hits))
	for i, h := range hits {
		meta := map[string]any{}
		for k, v := range h.doc.Metadata {
			meta[k] = v
		}
		out[i] = map[string]any{"id": fmt.Sprintf("%s#%d", h.doc.Key, 0), "type": "text", "score": h.score, "text": h.doc.Text,
			"item":            map[string]any{"key": h.doc.Key, "timestamp": h.doc.Timestamp, "metadata": meta},
			"scoring_details": map[string]any{"keyword_score": h.score, "keyword_rank": i + 1, "fusion_method": "rrf"}}
	}
	return out
}

// holdsFor applies a filter to a document's built-in and custom attributes.
func (f vzFilter) holdsFor(d AISearchDoc) bool {
	attrs := map[string]any{"filename": d.Key, "timestamp": d.Timestamp}
	if i := strings.LastIndex(d.Key, "/"); i >= 0 {
		attrs["folder"] = d.Key[:i+1]
	} else {
		attrs["folder"] = ""
	}
	for k, v := range d.Metadata {
		attrs[k] = v
	}
	for _, c := range f {
		val, ok := attrs[c.key]
		if !ok {
			return false
		}
		for _, o := range c.ops {
			if !o.holds(val) {
				return false
			}
		}
	}
	return true
}

// asWords lowercases and splits text into words.
func asWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}
