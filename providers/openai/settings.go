package openai

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Values of the max_tokens_field setting.
const (
	FieldMaxCompletionTokens = "max_completion_tokens"
	FieldMaxTokens           = "max_tokens"
)

// DefaultBaseURL is OpenAI's API root.
const DefaultBaseURL = "https://api.openai.com/v1"

// config is a provider entry's settings, decoded and checked.
type config struct {
	apiKey   string
	baseURL  string
	org      string
	maxField string
	gateway  *gatewayConfig
}

var knownSettings = []string{"api_key", "base_url", "gateway", "organization", "max_tokens_field"}

// parseSettings decodes and checks the settings of one `providers.<name>` entry.
func parseSettings(s map[string]any) (config, error) {
	var c config
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
	if c.org, err = stringSetting(s, "organization"); err != nil {
		return c, err
	}
	if c.maxField, err = stringSetting(s, "max_tokens_field"); err != nil {
		return c, err
	}
	if c.gateway, err = parseGateway(s["gateway"]); err != nil {
		return c, err
	}
	return c, c.resolve()
}

// resolve fills defaults and checks the combination of settings.
func (c *config) resolve() error {
	switch {
	case c.gateway != nil && c.baseURL != "":
		return fmt.Errorf("settings base_url and gateway exclude each other (set gateway.base_url to reach another gateway host)")
	case c.gateway != nil:
		c.baseURL = c.gateway.url()
	case c.baseURL == "":
		c.baseURL = DefaultBaseURL
	}
	u, err := url.Parse(c.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("setting base_url: %q is not an http(s) URL", c.baseURL)
	}
	c.baseURL = strings.TrimSuffix(c.baseURL, "/")
	storedKeys := c.gateway != nil && c.gateway.auth != ""
	if c.apiKey == "" && !localHost(u.Hostname()) && !storedKeys {
		return fmt.Errorf("setting api_key is required for %s (only local servers, or an authenticated gateway with stored keys, may omit it)", u.Host)
	}
	return c.resolveMaxField(u)
}

// resolveMaxField picks max_completion_tokens for OpenAI itself (directly or through the
// gateway's openai endpoint) and max_tokens for every compatible server, which mostly
// know only the older field.
func (c *config) resolveMaxField(u *url.URL) error {
	switch c.maxField {
	case FieldMaxCompletionTokens, FieldMaxTokens:
		return nil
	case "":
		c.maxField = FieldMaxTokens
		if u.Hostname() == "api.openai.com" || (c.gateway != nil && c.gateway.endpoint == endpointOpenAI) {
			c.maxField = FieldMaxCompletionTokens
		}
		return nil
	}
	return fmt.Errorf("setting max_tokens_field: %q is not %q or %q", c.maxField, FieldMaxCompletionTokens, FieldMaxTokens)
}

// compat reports whether requests go to AI Gateway's unified endpoint, which needs
// provider/model names.
func (c *config) compat() bool {
	return (c.gateway != nil && c.gateway.endpoint == endpointCompat) || strings.HasSuffix(c.baseURL, "/compat")
}

// viaGateway reports whether requests go through AI Gateway, so cf-aig-* headers apply.
func (c *config) viaGateway() bool {
	if c.gateway != nil {
		return true
	}
	u, err := url.Parse(c.baseURL)
	return err == nil && u.Hostname() == "gateway.ai.cloudflare.com"
}

// localHost reports whether host is a loopback or private-network address or a
// localhost name: local servers (Ollama, vLLM, llama.cpp) that need no key.
func localHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate())
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
