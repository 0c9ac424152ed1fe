package openai

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

// DefaultGatewayBaseURL is AI Gateway's root, before /{account_id}/{gateway_id}.
const DefaultGatewayBaseURL = "https://gateway.ai.cloudflare.com/v1"

// Gateway endpoints (the path segment after the gateway id).
const (
	endpointOpenAI    = "openai"        // OpenAI through the gateway
	endpointCompat    = "compat"        // unified endpoint, provider/model names
	endpointWorkersAI = "workers-ai/v1" // Workers AI's OpenAI-compatible API through the gateway
)

var gatewaySettings = []string{"id", "account_id", "base_url", "endpoint", "authorization",
	"cache_ttl", "skip_cache", "cache_key", "metadata", "request_timeout", "max_attempts"}

var gatewayID = regexp.MustCompile(`^[^/?#\s]{1,64}$`)

// gatewayConfig is the `gateway:` setting.
type gatewayConfig struct {
	id, account, base, endpoint string
	auth                        string // cf-aig-authorization token (secret)
	opts                        providers.GatewayOptions
}

// url is the base URL the SDK talks to: {base}/{account}/{id}/{endpoint}.
func (g *gatewayConfig) url() string {
	return fmt.Sprintf("%s/%s/%s/%s", strings.TrimSuffix(g.base, "/"), g.account, g.id, g.endpoint)
}

// parseGateway decodes the gateway object; nil stays nil.
func parseGateway(v any) (*gatewayConfig, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("setting gateway: want an object with id and account_id, got %T", v)
	}
	if err := unknownKeys("gateway.", m, gatewaySettings); err != nil {
		return nil, err
	}
	g := &gatewayConfig{}
	if err := g.parseStrings(m); err != nil {
		return nil, err
	}
	return g, g.parseOptions(m)
}

func (g *gatewayConfig) parseStrings(m map[string]any) error {
	fields := []struct {
		key string
		dst *string
	}{{"id", &g.id}, {"account_id", &g.account}, {"base_url", &g.base}, {"endpoint", &g.endpoint},
		{"authorization", &g.auth}, {"cache_key", &g.opts.CacheKey}}
	for _, f := range fields {
		s, err := stringSetting(m, f.key)
		if err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
		*f.dst = s
	}
	switch {
	case !gatewayID.MatchString(g.id):
		return fmt.Errorf("setting gateway.id: %q is not a gateway name (1 to 64 characters, no slashes or spaces)", g.id)
	case g.account == "" || strings.ContainsAny(g.account, "/?#"):
		return fmt.Errorf("setting gateway.account_id: required, and must be a Cloudflare account id")
	}
	if g.base == "" {
		g.base = DefaultGatewayBaseURL
	}
	switch g.endpoint {
	case "", endpointOpenAI:
		g.endpoint = endpointOpenAI
	case endpointCompat, endpointWorkersAI:
	case "workers-ai":
		g.endpoint = endpointWorkersAI
	default:
		return fmt.Errorf("setting gateway.endpoint: %q is not openai, compat or workers-ai", g.endpoint)
	}
	g.auth = strings.TrimPrefix(g.auth, "Bearer ")
	return nil
}

func (g *gatewayConfig) parseOptions(m map[string]any) error {
	var err error
	if g.opts.CacheTTL, err = durationSetting(m, "cache_ttl"); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	if g.opts.RequestTimeout, err = durationSetting(m, "request_timeout"); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	if g.opts.SkipCache, err = boolSetting(m, "skip_cache"); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	if g.opts.MaxAttempts, err = intSetting(m, "max_attempts"); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	g.opts.Metadata, err = parseMetadata(m["metadata"])
	return err
}

// parseMetadata accepts an object of string, number or boolean values (≤ 5 entries).
func parseMetadata(v any) (map[string]string, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("setting gateway.metadata: want an object, got %T", v)
	}
	if len(m) > transport.MaxGatewayMetadata {
		return nil, fmt.Errorf("setting gateway.metadata: %d entries, AI Gateway keeps at most %d", len(m), transport.MaxGatewayMetadata)
	}
	out := make(map[string]string, len(m))
	for k, val := range m {
		switch x := val.(type) {
		case string:
			out[k] = x
		case bool:
			out[k] = strconv.FormatBool(x)
		default:
			f, ok := toFloat(val)
			if !ok {
				return nil, fmt.Errorf("setting gateway.metadata.%s: want a string, number or boolean, got %T", k, val)
			}
			out[k] = strconv.FormatFloat(f, 'f', -1, 64)
		}
	}
	return out, nil
}

// responseMeta copies the facts worth keeping from response headers.
func responseMeta(resp *http.Response, model string) providers.Meta {
	meta := providers.Meta{}
	if model != "" {
		meta["model"] = model
	}
	if resp == nil {
		return meta
	}
	for _, h := range []string{"cf-aig-cache-status", "cf-aig-log-id", "cf-aig-step", "cf-aig-model",
		"cf-aig-provider", "x-request-id", "request-id"} {
		if v := resp.Header.Get(h); v != "" {
			meta[h] = v
		}
	}
	return meta
}
