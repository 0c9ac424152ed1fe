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
	"weak"
)

func init() {
	const base = "client/v4/accounts/{acct}/ai-gateway/gateways"
	registerCFRoute(cfRoute{http.MethodPost, base, cfConform("aig-config-create-gateway", []int{7001}, (*Cloudflare).serveGatewayCreate)})
	registerCFRoute(cfRoute{http.MethodGet, base, cfConform("aig-config-list-gateway", []int{7001}, (*Cloudflare).serveGatewayList)})
	registerCFRoute(cfRoute{http.MethodGet, base + "/{id}", cfConform("aig-config-fetch-gateway", []int{7001}, (*Cloudflare).serveGatewayGet)})
	registerCFRoute(cfRoute{http.MethodPut, base + "/{id}", cfConform("aig-config-update-gateway", []int{7001}, (*Cloudflare).serveGatewayUpdate)})
	registerCFRoute(cfRoute{http.MethodDelete, base + "/{id}", cfConform("aig-config-delete-gateway", []int{7001}, (*Cloudflare).serveGatewayDelete)})
}

// GatewayAdmin is the AI Gateway management API of a Cloudflare emulator (wire doc §5.6),
// reached with Cloudflare.Gateways: create, list, get, update (PUT) and delete gateways,
// in memory. Create and update require the fields the API requires (nullable ones may
// be null), reject unknown fields, names over 64 characters, a duplicate id, and more
// than 20 gateways per account. Faults queued on the emulator apply after routing and
// authentication. Safe for concurrent use.
type GatewayAdmin struct {
	mu       sync.Mutex
	gateways map[string]map[string]any
}

// gwAdminStates maps an emulator to its gateway settings (weak keys, as for Vectorize).
var gwAdminStates sync.Map // weak.Pointer[Cloudflare] → *GatewayAdmin

// Gateways returns the emulator's AI Gateway management state, creating it on first use.
func (cf *Cloudflare) Gateways() *GatewayAdmin {
	key := weak.Make(cf)
	if v, ok := gwAdminStates.Load(key); ok {
		return v.(*GatewayAdmin)
	}
	v, loaded := gwAdminStates.LoadOrStore(key, &GatewayAdmin{gateways: map[string]map[string]any{}})
	if !loaded {
		runtime.AddCleanup(cf, func(k weak.Pointer[Cloudflare]) { gwAdminStates.Delete(k) }, key)
	}
	return v.(*GatewayAdmin)
}

// Get returns a copy of gateway id's object, as the API would answer it.
func (g *GatewayAdmin) Get(id string) (map[string]any, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gw, ok := g.gateways[id]
	return clone(gw), ok
}

// Set changes fields of a gateway as if outside aiflow (dashboard); it reports whether
// the gateway exists.
func (g *GatewayAdmin) Set(id string, fields map[string]any) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	gw, ok := g.gateways[id]
	for k, v := range fields {
		if ok {
			gw[k] = v
		}
	}
	return ok
}

// IDs lists the gateways, sorted.
func (g *GatewayAdmin) IDs() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	ids := make([]string, 0, len(g.gateways))
	for id := range g.gateways {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func clone(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// gwMaxGateways is the paid-plan limit per account.
const gwMaxGateways = 20

// Fields of a gateway body: required ones must be present (null allowed where nullable).
var (
	gwRequired = []string{"cache_invalidate_on_update", "cache_ttl", "collect_logs", "rate_limiting_interval", "rate_limiting_limit"}
	gwNullable = map[string]bool{"cache_ttl": true, "rate_limiting_interval": true, "rate_limiting_limit": true, "rate_limiting_technique": true,
		"log_management": true, "log_management_strategy": true, "logpush_public_key": true, "retry_backoff": true, "retry_delay": true, "retry_max_attempts": true}
	gwTypes = map[string]string{"id": "string", "cache_invalidate_on_update": "bool", "cache_ttl": "int", "collect_logs": "bool",
		"rate_limiting_interval": "int", "rate_limiting_limit": "int", "rate_limiting_technique": "technique", "authentication": "bool",
		"is_default": "bool", "log_management": "int", "log_management_strategy": "strategy", "logpush": "bool", "logpush_public_key": "string",
		"zdr": "bool", "retry_backoff": "string", "retry_delay": "int", "retry_max_attempts": "int", "workers_ai_billing_mode": "string"}
)

// gwCheck validates a create (withID) or update body and returns its fields.
func gwCheck(body []byte, withID bool) (map[string]any, error) {
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil || in == nil {
		return nil, fmt.Errorf("invalid JSON body")
	}
	required := gwRequired
	if withID {
		required = append([]string{"id"}, required...)
	} else if _, ok := in["id"]; ok {
		return nil, fmt.Errorf("id cannot be changed")
	}
	for _, k := range required {
		if _, ok := in[k]; !ok {
			return nil, fmt.Errorf("%s is required", k)
		}
	}
	for k, v := range in {
		t, ok := gwTypes[k]
		if !ok {
			return nil, fmt.Errorf("unknown field %s", k)
		}
		if err := gwCheckValue(k, t, v); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func gwCheckValue(k, t string, v any) error {
	if v == nil {
		if gwNullable[k] {
			return nil
		}
		return fmt.Errorf("%s cannot be null", k)
	}
	ok := false
	switch t {
	case "string":
		_, ok = v.(string)
	case "bool":
		_, ok = v.(bool)
	case "int":
		f, isNum := v.(float64)
		ok = isNum && f == float64(int64(f)) && f >= 0
	case "technique":
		ok = v == "fixed" || v == "sliding"
	case "strategy":
		ok = v == "STOP_INSERTING" || v == "DELETE_OLDEST"
	}
	if !ok {
		return fmt.Errorf("%s: invalid value %v", k, v)
	}
	return nil
}

func (cf *Cloudflare) gwAuthorized(w http.ResponseWriter, c *cfCall) bool {
	return cf.d1Authorized(w, c) // same order: route, auth, then faults
}

func gwBad(w http.ResponseWriter, err error) {
	cfError(w, http.StatusBadRequest, cfErr{7001, "Invalid request: " + err.Error()}) // code: the emulator's choice
}

func gwNotFound(w http.ResponseWriter) {
	cfError(w, http.StatusNotFound, cfErr{7002, "Not Found"}) // code: the emulator's choice
}

func (cf *Cloudflare) serveGatewayCreate(w http.ResponseWriter, c *cfCall) {
	if !cf.gwAuthorized(w, c) {
		return
	}
	in, err := gwCheck(c.body, true)
	if err != nil {
		gwBad(w, err)
		return
	}
	id, _ := in["id"].(string)
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "/?# ") {
		gwBad(w, fmt.Errorf("id %q: 1 to 64 characters, no slashes or spaces", id))
		return
	}
	g := cf.Gateways()
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.gateways[id] != nil:
		gwBad(w, fmt.Errorf("a gateway with id %s already exists", id))
	case len(g.gateways) >= gwMaxGateways:
		gwBad(w, fmt.Errorf("at most %d gateways per account", gwMaxGateways))
	default:
		now := time.Now().UTC().Format(time.RFC3339Nano)
		gw := map[string]any{"account_id": cf.cfg.account, "internal_id": newUUID(), "created_at": now, "modified_at": now,
			"authentication": false, "logpush": false, "zdr": false, "rate_limiting_technique": "fixed"}
		for k, v := range in {
			gw[k] = v
		}
		g.gateways[id] = gw
		cfOK(w, clone(gw))
	}
}

func (cf *Cloudflare) serveGatewayUpdate(w http.ResponseWriter, c *cfCall) {
	if !cf.gwAuthorized(w, c) {
		return
	}
	in, err := gwCheck(c.body, false)
	if err != nil {
		gwBad(w, err)
		return
	}
	g := cf.Gateways()
	g.mu.Lock()
	defer g.mu.Unlock()
	gw, ok := g.gateways[c.params["id"]]
	if !ok {
		gwNotFound(w)
		return
	}
	for k, v := range in {
		gw[k] = v
	}
	gw["modified_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	cfOK(w, clone(gw))
}

func (cf *Cloudflare) serveGatewayGet(w http.ResponseWriter, c *cfCall) {
	if !cf.gwAuthorized(w, c) {
		return
	}
	if gw, ok := cf.Gateways().Get(c.params["id"]); ok {
		cfOK(w, gw)
		return
	}
	gwNotFound(w)
}

func (cf *Cloudflare) serveGatewayDelete(w http.ResponseWriter, c *cfCall) {
	if !cf.gwAuthorized(w, c) {
		return
	}
	g := cf.Gateways()
	g.mu.Lock()
	gw, ok := g.gateways[c.params["id"]]
	delete(g.gateways, c.params["id"])
	g.mu.Unlock()
	if !ok {
		gwNotFound(w)
		return
	}
	cfOK(w, gw)
}

func (cf *Cloudflare) serveGatewayList(w http.ResponseWriter, c *cfCall) {
	if !cf.gwAuthorized(w, c) {
		return
	}
	q := c.r.URL.Query()
	page, perPage := intQuery(q.Get("page"), 1), intQuery(q.Get("per_page"), 20)
	var all []map[string]any
	for _, id := range cf.Gateways().IDs() {
		if s := q.Get("search"); s == "" || strings.Contains(id, s) {
			gw, _ := cf.Gateways().Get(id)
			all = append(all, gw)
		}
	}
	start := min((page-1)*perPage, len(all))
	items := append([]map[string]any{}, all[start:min(start+perPage, len(all))]...)
	cfJSON(w, http.StatusOK, map[string]any{"success": true, "errors": []cfErr{}, "messages": []cfErr{}, "result": items,
		"result_info": map[string]any{"page": page, "per_page": perPage, "count": len(items), "total_count": len(all)}})
}
