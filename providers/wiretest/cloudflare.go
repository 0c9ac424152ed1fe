package wiretest

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Default credentials of the Cloudflare emulator.
const (
	CloudflareAccount = "0123456789abcdef0123456789abcdef"
	CloudflareToken   = "cf-test-token-0123456789abcdef"
)

// Cloudflare emulates the Cloudflare REST API (Workers AI `/client/v4/accounts/{acct}/ai/run/{model}`
// and `/ai/v1/chat/completions`) and AI Gateway (`/v1/{acct}/{gateway}/workers-ai/{model}`)
// on one httptest server, following the checklist of wire doc §10: exact routing (404 with
// 7003 and 7000), Bearer check (401 with 10000), the full envelope, raw-slash model ids,
// per-model input schemas (400 with 5006), max_tokens default 256, SSE framing with `p`
// padding, JSON mode, id-less tool calls, gateway headers, caching and authentication.
//
// Faults are applied to model runs after routing and authentication (so a gateway cache
// HIT never consumes one). A fault answers with Body verbatim when set (HTML when it
// starts with "<"), else with the envelope carrying Code and Message. A CutStream fault
// on a streaming request sends part of the stream and ends it without `data: [DONE]`; on
// other requests it is consumed without effect.
//
// Routing is a table (cfRoutes) that other files of this package extend from init, e.g.
// for Vectorize and D1.
type Cloudflare struct {
	Recorder
	Faults
	// Server is the running httptest server; it closes when the test ends.
	Server *httptest.Server

	cfg          cloudflareConfig
	latency      atomic.Int64 // nanoseconds added before every model answer
	runs         atomic.Int64
	conform      conformLog   // requests the published OpenAPI schema rejected (openapi.go)
	images       atomic.Int64 // images generated (cloudflare_image.go)
	audioSeconds atomic.Int64 // milliseconds of audio transcribed (cloudflare_audio.go)
	logSeq       atomic.Int64
	mu           sync.Mutex
	responder    CFResponder
	gwCache      map[string]cfCached
	gwLog        []CFGatewayRequest
	batches      cfBatches // the asynchronous Batch API (cloudflare_batch.go)
}

// CloudflareOption configures NewCloudflare.
type CloudflareOption func(*cloudflareConfig)

type cloudflareConfig struct {
	account     string
	token       string
	gatewayAuth string        // when set, gateways require cf-aig-authorization: Bearer <it>
	gatewayTTL  time.Duration // the gateway's own cache TTL (0: cache only on cf-aig-cache-ttl)
	streamStyle CFStreamStyle
	jsonString  bool
}

// WithCFAccount sets the only account id the emulator routes.
func WithCFAccount(id string) CloudflareOption { return func(c *cloudflareConfig) { c.account = id } }

// WithCFToken sets the API token the emulator accepts.
func WithCFToken(tok string) CloudflareOption { return func(c *cloudflareConfig) { c.token = tok } }

// WithCFGatewayAuth turns on authenticated-gateway mode: requests through AI Gateway need
// `cf-aig-authorization: Bearer <token>` or get the 401/2009 AiGatewayError body.
func WithCFGatewayAuth(token string) CloudflareOption {
	return func(c *cloudflareConfig) { c.gatewayAuth = token }
}

// WithCFGatewayCacheTTL sets the gateway's default cache TTL, used when a request sends
// no cf-aig-cache-ttl.
func WithCFGatewayCacheTTL(d time.Duration) CloudflareOption {
	return func(c *cloudflareConfig) { c.gatewayTTL = d }
}

// WithCFStreamStyle selects how streamed generations are framed.
func WithCFStreamStyle(s CFStreamStyle) CloudflareOption {
	return func(c *cloudflareConfig) { c.streamStyle = s }
}

// WithCFJSONAsString makes JSON mode answer `response` as a JSON string instead of the
// documented object.
func WithCFJSONAsString() CloudflareOption { return func(c *cloudflareConfig) { c.jsonString = true } }

// CFStreamStyle is the event shape of a streamed generation (wire doc §2.6).
type CFStreamStyle int

// Stream styles.
const (
	// CFStreamNative sends {"response": "…", "p": "…"} events.
	CFStreamNative CFStreamStyle = iota
	// CFStreamOpenAI sends chat.completion.chunk objects, then the native usage event.
	CFStreamOpenAI
)

// NewCloudflare starts a Cloudflare emulator that is closed when t ends.
func NewCloudflare(t testing.TB, opts ...CloudflareOption) *Cloudflare {
	cf := StartCloudflare(opts...)
	t.Cleanup(cf.Close)
	t.Cleanup(func() { cf.checkConformance(t) })
	return cf
}

// StartCloudflare starts a Cloudflare emulator outside a test (benchmarks, bench/); the
// caller must Close it.
func StartCloudflare(opts ...CloudflareOption) *Cloudflare {
	cf := &Cloudflare{
		cfg:     cloudflareConfig{account: CloudflareAccount, token: CloudflareToken},
		gwCache: map[string]cfCached{},
		batches: cfBatches{jobs: map[string]*cfBatch{}, submitted: map[string]int{}, polls: 1},
	}
	for _, opt := range opts {
		opt(&cf.cfg)
	}
	cf.Server = httptest.NewServer(cf)
	return cf
}

// Close stops the server.
func (cf *Cloudflare) Close() { cf.Server.Close() }

// APIBase is the Cloudflare API base URL a client should use (".../client/v4").
func (cf *Cloudflare) APIBase() string { return cf.Server.URL + "/client/v4" }

// GatewayBase is the AI Gateway base URL a client should use (".../v1").
func (cf *Cloudflare) GatewayBase() string { return cf.Server.URL + "/v1" }

// Account is the account id the emulator routes.
func (cf *Cloudflare) Account() string { return cf.cfg.account }

// Token is the API token the emulator accepts.
func (cf *Cloudflare) Token() string { return cf.cfg.token }

// SetLatency adds d before every model answer (not before errors or cache hits).
func (cf *Cloudflare) SetLatency(d time.Duration) { cf.latency.Store(int64(d)) }

// SetResponder overrides model behaviour; nil restores the defaults.
func (cf *Cloudflare) SetResponder(r CFResponder) {
	cf.mu.Lock()
	cf.responder = r
	cf.mu.Unlock()
}

// Runs is how many requests reached a model (cache hits and rejected requests excluded).
func (cf *Cloudflare) Runs() int { return int(cf.runs.Load()) }

// CFRun is one model invocation as a responder sees it.
type CFRun struct {
	Model   string
	Task    string         // generate, embed, summarize, translate, classify or chat
	Input   map[string]any // the decoded request body
	Stream  bool
	Gateway string // gateway id when the call came through AI Gateway
}

// CFResponder computes a run's `result`. Returning ok == false keeps the default
// behaviour. For generations, a result map's "response" string is what gets streamed.
type CFResponder func(run CFRun) (result any, ok bool)

// respond asks the responder for a result.
func (cf *Cloudflare) respond(run CFRun) (any, bool) {
	cf.mu.Lock()
	r := cf.responder
	cf.mu.Unlock()
	if r == nil {
		return nil, false
	}
	return r(run)
}

// cfCall is one routed request.
type cfCall struct {
	r       *http.Request
	body    []byte
	params  map[string]string // captures of the route pattern
	gateway *CFGatewayRequest // set when the call came through AI Gateway
}

// cfRoute is one row of the routing table. Pattern segments in braces capture one
// segment; a final "{name...}" captures the rest of the escaped path.
type cfRoute struct {
	method  string
	pattern string
	handle  func(cf *Cloudflare, w http.ResponseWriter, c *cfCall)
}

var cfRoutes []cfRoute

// registerCFRoute adds a route; call it from init. Routes without a rest capture are
// tried first, so fixed paths win over "{model...}".
func registerCFRoute(rt cfRoute) {
	cfRoutes = append(cfRoutes, rt)
	sort.SliceStable(cfRoutes, func(i, j int) bool {
		return !strings.HasSuffix(cfRoutes[i].pattern, "...}") && strings.HasSuffix(cfRoutes[j].pattern, "...}")
	})
}

// ServeHTTP records the request and routes it through the table.
func (cf *Cloudflare) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := cf.record(r)
	path := r.URL.EscapedPath()
	for _, rt := range cfRoutes {
		params, ok := cfMatch(rt.pattern, path)
		if !ok || rt.method != r.Method {
			continue
		}
		rt.handle(cf, w, &cfCall{r: r, body: body, params: params})
		return
	}
	cfNoRoute(w, path)
}

// cfMatch matches an escaped path against a route pattern.
func cfMatch(pattern, path string) (map[string]string, bool) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	segs := strings.Split(strings.Trim(path, "/"), "/")
	params := map[string]string{}
	for i, p := range ps {
		if i >= len(segs) {
			return nil, false
		}
		name, isVar := strings.CutPrefix(p, "{")
		if !isVar {
			if p != segs[i] {
				return nil, false
			}
			continue
		}
		name = strings.TrimSuffix(name, "}")
		if rest, ok := strings.CutSuffix(name, "..."); ok {
			params[rest] = strings.Join(segs[i:], "/")
			return params, params[rest] != ""
		}
		params[name] = segs[i]
	}
	return params, len(ps) == len(segs)
}

// authorized checks the account id and the Bearer token, answering 404/7003 or 401/10000.
func (cf *Cloudflare) authorized(w http.ResponseWriter, c *cfCall) bool {
	if c.params["acct"] != cf.cfg.account {
		cfNoRoute(w, c.r.URL.EscapedPath())
		return false
	}
	got, ok := strings.CutPrefix(c.r.Header.Get("Authorization"), "Bearer ")
	if !ok || got != cf.cfg.token {
		cfError(w, http.StatusUnauthorized, cfErr{10000, "Authentication error"})
		return false
	}
	return true
}

// wait sleeps d unless the client goes away first; it reports whether to continue.
func cfWait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
