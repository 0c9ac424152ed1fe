package transport

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/internal/setting"
)

// DefaultGatewayBaseURL is AI Gateway's root, before /{account_id}/{gateway_id}.
const DefaultGatewayBaseURL = "https://gateway.ai.cloudflare.com/v1"

// GatewaySettings is a provider entry's decoded `gateway:` object, for the providers
// that reach AI Gateway at {base_url}/{account_id}/{id}/{endpoint}.
type GatewaySettings struct {
	ID        string // gateway name
	AccountID string // Cloudflare account id
	BaseURL   string // gateway root; DefaultGatewayBaseURL when unset
	// Auth is the cf-aig-authorization token without its "Bearer " prefix. It is a
	// secret: add it to the client's Secrets.
	Auth string
	// Options are the cf-aig-* defaults sent with every request.
	Options providers.GatewayOptions
	// Extra holds the provider's own keys (see GatewayKey), after their Check; nil
	// when the provider has none.
	Extra map[string]string
}

// GatewayKey is a provider's own string key in the gateway object, such as openai's
// endpoint.
type GatewayKey struct {
	Name string
	// Check normalises the value ("" when unset) or says why it is wrong; its error is
	// returned as it is.
	Check func(string) (string, error)
}

var gatewayID = regexp.MustCompile(`^[^/?#\s]{1,64}$`)

// ParseGateway decodes a `gateway:` setting: id and account_id (required),
// base_url, authorization, cache_ttl, skip_cache, cache_key, metadata,
// request_timeout, max_attempts, and the provider's extra keys. A nil raw is a nil
// result. Errors name the setting, e.g. "setting gateway.id: …".
func ParseGateway(raw any, extra ...GatewayKey) (*GatewaySettings, error) {
	if raw == nil {
		return nil, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("setting gateway: want an object with id and account_id, got %T", raw)
	}
	if err := setting.CheckKeys("gateway.", m, gatewayKeys(extra)); err != nil {
		return nil, err
	}
	g := &GatewaySettings{}
	if len(extra) > 0 {
		g.Extra = make(map[string]string, len(extra))
	}
	if err := g.parseStrings(m, extra); err != nil {
		return nil, err
	}
	for _, k := range extra {
		v, err := k.Check(g.Extra[k.Name])
		if err != nil {
			return nil, err
		}
		g.Extra[k.Name] = v
	}
	g.Auth = strings.TrimPrefix(g.Auth, "Bearer ")
	return g, g.parseOptions(m)
}

// URL is the gateway's base URL for one provider endpoint:
// {BaseURL}/{AccountID}/{ID}/{endpoint}.
func (g *GatewaySettings) URL(endpoint string) string {
	return fmt.Sprintf("%s/%s/%s/%s", strings.TrimSuffix(g.BaseURL, "/"), g.AccountID, g.ID, endpoint)
}

// GatewayHeaders returns the cf-aig-* headers of one request: g's authorization token
// as a Bearer cf-aig-authorization, and g's options overlaid by over (see MergeGateway
// and SetGatewayHeaders). g may be nil, for a base_url that points at the gateway.
func GatewayHeaders(g *GatewaySettings, over *providers.GatewayOptions) (http.Header, error) {
	h := http.Header{}
	var base *providers.GatewayOptions
	if g != nil {
		base = &g.Options
		if g.Auth != "" {
			h.Set("cf-aig-authorization", "Bearer "+g.Auth)
		}
	}
	if err := SetGatewayHeaders(h, MergeGateway(base, over)); err != nil {
		return nil, err
	}
	return h, nil
}

// ResolveBaseURL picks a provider's API root from its base_url setting and its gateway,
// which exclude each other: g.URL(endpoint) with a gateway, baseURL when set, def
// otherwise. The root must be an http(s) URL; it is returned parsed, and as a string
// without a trailing slash.
func ResolveBaseURL(baseURL, def string, g *GatewaySettings, endpoint string) (string, *url.URL, error) {
	switch {
	case g != nil && baseURL != "":
		return "", nil, fmt.Errorf("settings base_url and gateway exclude each other (set gateway.base_url to reach another gateway host)")
	case g != nil:
		baseURL = g.URL(endpoint)
	case baseURL == "":
		baseURL = def
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", nil, fmt.Errorf("setting base_url: %q is not an http(s) URL", baseURL)
	}
	return strings.TrimSuffix(baseURL, "/"), u, nil
}

// IsGatewayURL reports whether rawURL points at AI Gateway's public host, so that
// cf-aig-* headers apply even to a base_url set by hand.
func IsGatewayURL(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Hostname() == "gateway.ai.cloudflare.com"
}

// gatewayKeys lists the accepted keys, the provider's own after base_url.
func gatewayKeys(extra []GatewayKey) []string {
	keys := []string{"id", "account_id", "base_url"}
	for _, k := range extra {
		keys = append(keys, k.Name)
	}
	return append(keys, "authorization", "cache_ttl", "skip_cache", "cache_key", "metadata",
		"request_timeout", "max_attempts")
}

// parseStrings reads the string keys and checks id and account_id.
func (g *GatewaySettings) parseStrings(m map[string]any, extra []GatewayKey) error {
	type field struct {
		key string
		dst *string
	}
	fields := []field{{"id", &g.ID}, {"account_id", &g.AccountID}, {"base_url", &g.BaseURL}}
	extras := make([]string, len(extra))
	for i, k := range extra {
		fields = append(fields, field{k.Name, &extras[i]})
	}
	if _, ok := m["cache_key"]; ok {
		return fmt.Errorf("setting gateway.cache_key: %s", CacheKeyRefused)
	}
	fields = append(fields, field{"authorization", &g.Auth})
	for _, f := range fields {
		s, err := setting.String(m, f.key)
		if err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
		*f.dst = s
	}
	for i, k := range extra {
		g.Extra[k.Name] = extras[i]
	}
	switch {
	case !gatewayID.MatchString(g.ID):
		return fmt.Errorf("setting gateway.id: %q is not a gateway name (1 to 64 characters, no slashes or spaces)", g.ID)
	case g.AccountID == "" || strings.ContainsAny(g.AccountID, "/?#"):
		return fmt.Errorf("setting gateway.account_id: required, and must be a Cloudflare account id")
	}
	if g.BaseURL == "" {
		g.BaseURL = DefaultGatewayBaseURL
	}
	return nil
}

// parseOptions reads the cf-aig-* defaults.
func (g *GatewaySettings) parseOptions(m map[string]any) error {
	var err error
	if g.Options.CacheTTL, err = setting.Duration(m, "cache_ttl"); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	// A bare number is milliseconds, as in the cf-aig-request-timeout header and the
	// workers-ai provider, so one flow means the same timeout on every provider.
	if ms, isNum := setting.ToFloat(m["request_timeout"]); isNum {
		g.Options.RequestTimeout = time.Duration(ms * float64(time.Millisecond))
	} else if g.Options.RequestTimeout, err = setting.Duration(m, "request_timeout"); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	if g.Options.SkipCache, err = setting.Bool(m, "skip_cache"); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	if g.Options.MaxAttempts, err = setting.Int(m, "max_attempts"); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	g.Options.Metadata, err = parseMetadata(m["metadata"])
	return err
}

// parseMetadata accepts an object of string, number or boolean values (at most
// MaxGatewayMetadata entries), keeping numbers and booleans typed as the gateway logs them.
func parseMetadata(v any) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("setting gateway.metadata: want an object, got %T", v)
	}
	if len(m) > MaxGatewayMetadata {
		return nil, fmt.Errorf("setting gateway.metadata: %d entries, AI Gateway keeps at most %d", len(m), MaxGatewayMetadata)
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		switch x := val.(type) {
		case string, bool:
			out[k] = x
		default:
			f, ok := setting.ToFloat(val)
			if !ok || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("setting gateway.metadata.%s: want a string, number or boolean, got %T", k, val)
			}
			out[k] = f
		}
	}
	return out, nil
}
