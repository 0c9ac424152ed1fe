package infra

import (
	"context"
	"fmt"
	"time"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
)

// gatewayKind manages ai-gateway resources: a Cloudflare AI Gateway named after the
// resource, in the account of the workers-ai provider named by `provider:`, with
// cache_ttl (a duration such as 1h, or seconds; 0 or absent: no caching), rate_limit
// ({limit, interval, technique: fixed|sliding}) and logging (default true).
type gatewayKind struct{}

// gatewayAdmin is the registered Cloudflare gateway admin.
const gatewayAdmin = "cloudflare"

func (gatewayKind) desired(_ *env, r *resource) error {
	r.backend = gatewayAdmin
	s, err := gatewaySettings(r.name, r.settings)
	if err != nil {
		return err
	}
	r.attrs = gatewayAttrs(s)
	r.attrs["provider"] = str(r.settings["provider"])
	if r.attrs["provider"] == "" {
		return fmt.Errorf("set provider: to a workers-ai provider entry (the gateway lives in its account)")
	}
	r.force = []string{"provider"}
	return nil
}

// gatewaySettings reads cache_ttl, rate_limit and logging.
func gatewaySettings(id string, s map[string]any) (providers.GatewaySettings, error) {
	g := providers.GatewaySettings{ID: id, Logging: true}
	var err error
	if g.CacheTTL, err = seconds(s["cache_ttl"], "cache_ttl"); err != nil {
		return g, err
	}
	if v, ok := s["logging"]; ok && v != nil {
		b, isBool := v.(bool)
		if !isBool {
			return g, fmt.Errorf("logging: want true or false, got %v", v)
		}
		g.Logging = b
	}
	g.RateLimit, err = rateLimit(s["rate_limit"])
	return g, err
}

func rateLimit(v any) (*providers.GatewayRateLimit, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("rate_limit: want {limit: N, interval: 1m, technique: fixed|sliding}, got %v", v)
	}
	for k := range m {
		if k != "limit" && k != "interval" && k != "technique" {
			return nil, fmt.Errorf("rate_limit: unknown key %q (allowed: limit, interval, technique)", k)
		}
	}
	limit, isInt := m["limit"].(int)
	if !isInt || limit < 1 {
		return nil, fmt.Errorf("rate_limit.limit: want a positive integer, got %v", m["limit"])
	}
	interval, err := seconds(m["interval"], "rate_limit.interval")
	if err != nil {
		return nil, err
	}
	if interval < 1 {
		interval = 60
	}
	r := &providers.GatewayRateLimit{Limit: limit, Interval: interval, Technique: "fixed"}
	if t, ok := m["technique"].(string); ok {
		r.Technique = t
	}
	if r.Technique != "fixed" && r.Technique != "sliding" {
		return nil, fmt.Errorf("rate_limit.technique: want fixed or sliding, got %v", m["technique"])
	}
	return r, nil
}

// seconds reads a duration ("1h", "90s") or whole seconds; nil is 0.
func seconds(v any, field string) (int, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int:
		if x >= 0 {
			return x, nil
		}
	case string:
		d, err := time.ParseDuration(x)
		if err == nil && d >= 0 && d%time.Second == 0 {
			return int(d / time.Second), nil
		}
	}
	return 0, fmt.Errorf("%s: want a duration such as 1h or a number of seconds, got %v", field, v)
}

func gatewayAttrs(s providers.GatewaySettings) map[string]any {
	out := map[string]any{"cache_ttl": s.CacheTTL, "logging": s.Logging, "rate_limit": nil}
	if r := s.RateLimit; r != nil {
		out["rate_limit"] = map[string]any{"limit": r.Limit, "interval": r.Interval, "technique": r.Technique}
	}
	return out
}

func (e *env) gatewayAdmin(provider string) (providers.GatewayAdmin, error) {
	info, ok := providers.LookupGatewayAdmin(gatewayAdmin)
	if !ok {
		return nil, fmt.Errorf("no AI Gateway admin is registered")
	}
	a, err := e.account(provider)
	if err != nil {
		return nil, err
	}
	return info.New(providers.GatewayAdminConfig{Account: *a, HTTPClient: e.opts.HTTPClient, Retry: e.opts.Retry})
}

func (gatewayKind) refresh(ctx context.Context, e *env, r *resource, _ *store.ResourceState) (realState, error) {
	adm, err := e.gatewayAdmin(str(r.attrs["provider"]))
	if err != nil {
		return realState{}, err
	}
	s, ok, err := adm.Get(ctx, r.name)
	if err != nil || !ok {
		return realState{}, err
	}
	return realState{exists: true, id: s.ID, attrs: gatewayAttrs(s)}, nil
}

func (gatewayKind) apply(ctx context.Context, e *env, c *Change) (string, error) {
	r := c.res
	adm, err := e.gatewayAdmin(str(r.attrs["provider"]))
	if err != nil {
		return "", err
	}
	s, err := gatewaySettings(r.name, r.settings)
	if err != nil {
		return "", err
	}
	switch {
	case !c.real.exists:
		err = adm.Create(ctx, s)
	case len(c.Attributes) > 0:
		err = adm.Update(ctx, s)
	}
	return r.name, err
}

func (gatewayKind) destroy(ctx context.Context, e *env, st store.ResourceState) error {
	provider, _ := st.Attributes["provider"].(string)
	adm, err := e.gatewayAdmin(provider)
	if err != nil {
		return err
	}
	return adm.Delete(ctx, st.ID)
}
