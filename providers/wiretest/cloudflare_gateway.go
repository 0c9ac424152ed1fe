package wiretest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

func init() {
	registerCFRoute(cfRoute{http.MethodPost, "v1/{acct}/{gateway}/workers-ai/{model...}", (*Cloudflare).serveGateway})
}

// cfMaxMetadata is how many cf-aig-metadata entries the gateway keeps.
const cfMaxMetadata = 5

// CFGatewayRequest is what the emulated AI Gateway parsed from one request and answered.
type CFGatewayRequest struct {
	Account, Gateway string
	Provider         string // path segment after the gateway id, e.g. "workers-ai"
	Model            string
	CacheTTL         time.Duration // cf-aig-cache-ttl (or the gateway default)
	SkipCache        bool
	CacheKey         string
	RequestTimeout   time.Duration
	MaxAttempts      int
	Metadata         map[string]any // at most 5 entries, like the gateway
	Authenticated    bool           // a valid cf-aig-authorization was sent
	CacheStatus      string         // HIT or MISS
	LogID            string
}

// cfCached is one stored gateway answer.
type cfCached struct {
	status  int
	header  http.Header
	body    []byte
	expires time.Time
}

// GatewayRequests returns what the gateway saw, in order.
func (cf *Cloudflare) GatewayRequests() []CFGatewayRequest {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	return append([]CFGatewayRequest(nil), cf.gwLog...)
}

// serveGateway answers POST /v1/{acct}/{gateway}/workers-ai/{model} (wire doc §5).
func (cf *Cloudflare) serveGateway(w http.ResponseWriter, c *cfCall) {
	gr := &CFGatewayRequest{Account: c.params["acct"], Gateway: c.params["gateway"], Provider: "workers-ai", Model: c.params["model"]}
	if !cf.gatewayAuthorized(w, c.r, gr) {
		return
	}
	if bad := cf.parseGatewayHeaders(c.r.Header, gr); bad != "" {
		cfGatewayError(w, http.StatusBadRequest, 2001, bad)
		return
	}
	gr.LogID = fmt.Sprintf("01EMULOG%018d", cf.logSeq.Add(1))
	w.Header().Set("cf-aig-log-id", gr.LogID)
	w.Header().Set("cf-aig-request-id", gr.LogID)
	c.gateway = gr
	key, cacheable := cf.cacheKey(c, gr)
	if cacheable && cf.serveCached(w, key, gr) {
		return
	}
	gr.CacheStatus = "MISS"
	w.Header().Set("cf-aig-cache-status", "MISS")
	cf.logGateway(gr)
	if !cacheable {
		cf.upstream(w, c)
		return
	}
	capture := &cfCapture{header: http.Header{}, status: http.StatusOK}
	cf.upstream(capture, c)
	// A client that left during the upstream call got nothing: its answer was never
	// written, and an empty one must not be cached for the retry.
	if capture.status == http.StatusOK && c.r.Context().Err() == nil && capture.buf.Len() > 0 {
		cf.mu.Lock()
		cf.gwCache[key] = cfCached{status: capture.status, header: capture.header.Clone(), body: capture.buf.Bytes(), expires: time.Now().Add(gr.CacheTTL)}
		cf.mu.Unlock()
	}
	capture.copyTo(w)
}

// upstream forwards a gateway call to Workers AI, which checks the provider token itself.
func (cf *Cloudflare) upstream(w http.ResponseWriter, c *cfCall) {
	if !cf.authorized(w, c) {
		return
	}
	cf.run(w, c, c.params["model"])
}

// gatewayAuthorized enforces authenticated-gateway mode (401 with the 2009 body).
func (cf *Cloudflare) gatewayAuthorized(w http.ResponseWriter, r *http.Request, gr *CFGatewayRequest) bool {
	got := r.Header.Get("cf-aig-authorization")
	gr.Authenticated = cf.cfg.gatewayAuth != "" && got == "Bearer "+cf.cfg.gatewayAuth
	if cf.cfg.gatewayAuth == "" || gr.Authenticated {
		return true
	}
	cfGatewayError(w, http.StatusUnauthorized, 2009, "Unauthorized")
	return false
}

// cfGatewayError writes AI Gateway's own error body (`error`, not `errors`).
func cfGatewayError(w http.ResponseWriter, status, code int, msg string) {
	cfJSON(w, status, map[string]any{
		"success": false, "result": []any{}, "messages": []any{},
		"error": []cfErr{{code, msg}}, "name": "AiGatewayError", "httpCode": status, "internalCode": code,
	})
}

// parseGatewayHeaders reads the cf-aig-* request headers (wire doc §5.2).
func (cf *Cloudflare) parseGatewayHeaders(h http.Header, gr *CFGatewayRequest) string {
	gr.CacheTTL = cf.cfg.gatewayTTL
	if v := cfFirst(h, "cf-aig-cache-ttl", "cf-cache-ttl"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 31*24*3600 {
			return "Invalid cf-aig-cache-ttl: " + v
		}
		gr.CacheTTL = time.Duration(n) * time.Second
	}
	gr.SkipCache = cfFirst(h, "cf-aig-skip-cache", "cf-skip-cache") == "true"
	gr.CacheKey = h.Get("cf-aig-cache-key")
	if v := h.Get("cf-aig-request-timeout"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return "Invalid cf-aig-request-timeout: " + v
		}
		gr.RequestTimeout = time.Duration(n) * time.Millisecond
	}
	if v := h.Get("cf-aig-max-attempts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5 {
			return "Invalid cf-aig-max-attempts: " + v
		}
		gr.MaxAttempts = n
	}
	if v := h.Get("cf-aig-metadata"); v != "" {
		md, bad := cfParseMetadata(v)
		if bad != "" {
			return bad
		}
		gr.Metadata = md
	}
	return ""
}

// cfParseMetadata accepts a JSON object of strings, numbers and booleans and keeps the
// first five entries in key order (the real gateway drops extras silently).
func cfParseMetadata(v string) (map[string]any, string) {
	dec := json.NewDecoder(strings.NewReader(v))
	dec.UseNumber()
	var md map[string]any
	if err := dec.Decode(&md); err != nil || md == nil {
		return nil, "Invalid cf-aig-metadata: must be a JSON object"
	}
	keys := make([]string, 0, len(md))
	for k, val := range md {
		switch val.(type) {
		case string, json.Number, bool:
		default:
			return nil, fmt.Sprintf("Invalid cf-aig-metadata: value of %q must be a string, number or boolean", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys[min(len(keys), cfMaxMetadata):] {
		delete(md, k)
	}
	return md, ""
}

// cacheKey is SHA-256 of path, provider auth and the full body (or cf-aig-cache-key);
// streaming requests and those without a TTL or with skip-cache are not cacheable.
func (cf *Cloudflare) cacheKey(c *cfCall, gr *CFGatewayRequest) (string, bool) {
	var probe struct {
		Stream bool `json:"stream"`
	}
	_ = json.Unmarshal(c.body, &probe)
	if gr.CacheTTL <= 0 || gr.SkipCache || probe.Stream {
		return "", false
	}
	if gr.CacheKey != "" {
		return "key:" + gr.CacheKey, true
	}
	sum := sha256.Sum256([]byte(c.r.URL.EscapedPath() + "\n" + c.r.Header.Get("Authorization") + "\n" + string(c.body)))
	return hex.EncodeToString(sum[:]), true
}

// serveCached answers from the cache when an unexpired entry exists.
func (cf *Cloudflare) serveCached(w http.ResponseWriter, key string, gr *CFGatewayRequest) bool {
	cf.mu.Lock()
	hit, ok := cf.gwCache[key]
	cf.mu.Unlock()
	if !ok || time.Now().After(hit.expires) {
		return false
	}
	gr.CacheStatus = "HIT"
	cf.logGateway(gr)
	for k, vs := range hit.header {
		w.Header()[k] = vs
	}
	w.Header().Set("cf-aig-cache-status", "HIT")
	w.WriteHeader(hit.status)
	_, _ = w.Write(hit.body)
	return true
}

func (cf *Cloudflare) logGateway(gr *CFGatewayRequest) {
	cf.mu.Lock()
	cf.gwLog = append(cf.gwLog, *gr)
	cf.mu.Unlock()
}

// cfFirst returns the first non-empty header among names.
func cfFirst(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// cfCapture buffers an upstream answer so the gateway can store it.
type cfCapture struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (c *cfCapture) Header() http.Header         { return c.header }
func (c *cfCapture) WriteHeader(status int)      { c.status = status }
func (c *cfCapture) Write(b []byte) (int, error) { return c.buf.Write(b) }

func (c *cfCapture) copyTo(w http.ResponseWriter) {
	for k, vs := range c.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(c.status)
	_, _ = w.Write(c.buf.Bytes())
}
