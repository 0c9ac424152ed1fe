package anthropic

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

// Defaults of the settings.
const (
	DefaultBaseURL        = "https://api.anthropic.com"
	DefaultGatewayBaseURL = "https://gateway.ai.cloudflare.com/v1"
	DefaultMaxTokens      = 1024
)

// config is a provider entry's settings, decoded and checked.
type config struct {
	apiKey    string
	baseURL   string
	maxTokens int
	gateway   *gatewayConfig
}

// gatewayConfig is the `gateway:` setting.
type gatewayConfig struct {
	id, account, base string
	auth              string // cf-aig-authorization token (secret)
	opts              providers.GatewayOptions
}

var (
	knownSettings   = []string{"api_key", "base_url", "gateway", "max_tokens"}
	gatewaySettings = []string{"id", "account_id", "base_url", "authorization", "cache_ttl", "skip_cache",
		"cache_key", "metadata", "request_timeout", "max_attempts"}
	gatewayID = regexp.MustCompile(`^[^/?#\s]{1,64}$`)
)

// parseSettings decodes and checks the settings of one `providers.<name>` entry.
func parseSettings(s map[string]any) (config, error) {
	c := config{}
	if err := unknownKeys("", s, knownSettings); err != nil {
		return c, err
	}
	var err error
	if c.apiKey, err = stringSetting(s, "api_key"); err != nil {
		return c, err
	}
	if c.baseURL, err = stringSetting(s, "base_url"); err != nil {
		return c, err
	}
	if c.maxTokens, err = intSetting(s, "max_tokens"); err != nil {
		return c, err
	}
	if c.gateway, err = parseGateway(s["gateway"]); err != nil {
		return c, err
	}
	return c, c.resolve()
}

func (c *config) resolve() error {
	switch {
	case c.gateway != nil && c.baseURL != "":
		return fmt.Errorf("settings base_url and gateway exclude each other (set gateway.base_url to reach another gateway host)")
	case c.gateway != nil:
		c.baseURL = fmt.Sprintf("%s/%s/%s/anthropic", strings.TrimSuffix(c.gateway.base, "/"), c.gateway.account, c.gateway.id)
	case c.baseURL == "":
		c.baseURL = DefaultBaseURL
	}
	u, err := url.Parse(c.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("setting base_url: %q is not an http(s) URL", c.baseURL)
	}
	c.baseURL = strings.TrimSuffix(c.baseURL, "/")
	if c.apiKey == "" && (c.gateway == nil || c.gateway.auth == "") {
		return fmt.Errorf("setting api_key is required (only an authenticated gateway holding the key may omit it)")
	}
	switch {
	case c.maxTokens == 0:
		c.maxTokens = DefaultMaxTokens
	case c.maxTokens < 0:
		return fmt.Errorf("setting max_tokens: want a positive integer, got %d", c.maxTokens)
	}
	return nil
}

// viaGateway reports whether requests go through AI Gateway, so cf-aig-* headers apply.
func (c *config) viaGateway() bool {
	if c.gateway != nil {
		return true
	}
	u, err := url.Parse(c.baseURL)
	return err == nil && u.Hostname() == "gateway.ai.cloudflare.com"
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
	fields := []struct {
		key string
		dst *string
	}{{"id", &g.id}, {"account_id", &g.account}, {"base_url", &g.base}, {"authorization", &g.auth}, {"cache_key", &g.opts.CacheKey}}
	for _, f := range fields {
		s, err := stringSetting(m, f.key)
		if err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		*f.dst = s
	}
	switch {
	case !gatewayID.MatchString(g.id):
		return nil, fmt.Errorf("setting gateway.id: %q is not a gateway name (1 to 64 characters, no slashes or spaces)", g.id)
	case g.account == "" || strings.ContainsAny(g.account, "/?#"):
		return nil, fmt.Errorf("setting gateway.account_id: required, and must be a Cloudflare account id")
	}
	if g.base == "" {
		g.base = DefaultGatewayBaseURL
	}
	g.auth = strings.TrimPrefix(g.auth, "Bearer ")
	return g, g.parseOptions(m)
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

// unknownKeys rejects keys of m outside known, naming the setting path.
func unknownKeys(prefix string, m map[string]any, known []string) error {
	var bad []string
	for k := range m {
		if !slices.Contains(known, k) {
			bad = append(bad, prefix+k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("unknown setting %s (known: %s)", strings.Join(bad, ", "), strings.Join(known, ", "))
}

func stringSetting(m map[string]any, key string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("setting %s: want a string, got %T", key, v)
	}
	return s, nil
}

func boolSetting(m map[string]any, key string) (bool, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("setting %s: want true or false, got %T", key, v)
	}
	return b, nil
}

// intSetting accepts any Go integer, or a float with no fraction.
func intSetting(m map[string]any, key string) (int, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return 0, nil
	}
	n, ok := toInt(v)
	if !ok {
		return 0, fmt.Errorf("setting %s: want an integer, got %v", key, v)
	}
	return n, nil
}

// durationSetting accepts a Go duration string ("1h", "90s") or a number of seconds.
func durationSetting(m map[string]any, key string) (time.Duration, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return 0, nil
	}
	switch x := v.(type) {
	case string:
		d, err := time.ParseDuration(x)
		if err != nil {
			return 0, fmt.Errorf("setting %s: %w", key, err)
		}
		return d, nil
	case time.Duration:
		return x, nil
	}
	if f, ok := toFloat(v); ok {
		return time.Duration(f * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("setting %s: want a duration like \"1h\" or seconds, got %T", key, v)
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int32:
		return int(x), true
	case int64:
		return int(x), true
	case uint:
		return int(x), true
	case uint32:
		return int(x), true
	case uint64:
		return int(x), true
	}
	if f, ok := toFloat(v); ok && f == float64(int(f)) {
		return int(f), true
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}
