package workersai

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

// Defaults for settings left out.
const (
	DefaultBaseURL        = "https://api.cloudflare.com/client/v4"
	DefaultGatewayBaseURL = transport.DefaultGatewayBaseURL
	// DefaultMaxTokens is sent when a generate step sets no max_tokens. Workers AI's own
	// default is 256, which silently cuts longer answers, so aiflow always sends one.
	DefaultMaxTokens   = 1024
	DefaultConcurrency = 32
)

// config is one provider entry's settings, decoded and checked.
type config struct {
	accountID   string
	apiToken    string
	baseURL     string
	gateway     *gatewayConfig
	rateLimit   rateLimit
	maxTokens   int
	concurrency int
	timeouts    transport.Timeouts
}

// gatewayConfig is the `gateway:` object.
type gatewayConfig struct {
	id      string
	baseURL string
	auth    string // cf-aig-authorization token (secret)
	opts    providers.GatewayOptions
}

// rateLimit overrides the catalogue's per-task budgets (requests per minute).
type rateLimit struct {
	all     float64                    // every task; 0 = catalogue
	perTask map[providers.Task]float64 // per task
	burst   int
	off     bool
}

var knownSettings = []string{"account_id", "api_token", "base_url", "gateway", "rate_limit", "max_tokens", "concurrency", "timeouts"}

// parseSettings decodes a provider entry's settings; errors name the setting.
func parseSettings(s map[string]any) (config, error) {
	c, err := decodeSettings(s)
	if err != nil {
		return c, fmt.Errorf("setting %w", err)
	}
	return c, nil
}

func decodeSettings(s map[string]any) (config, error) {
	c := config{maxTokens: DefaultMaxTokens, concurrency: DefaultConcurrency}
	if err := unknownKeys("", s, knownSettings); err != nil {
		return c, err
	}
	var err error
	if c.accountID, err = requiredString(s, "account_id"); err != nil {
		return c, err
	}
	if strings.ContainsAny(c.accountID, "/?#% ") {
		return c, fmt.Errorf("account_id: %q is not a Cloudflare account id", c.accountID)
	}
	if c.apiToken, err = requiredString(s, "api_token"); err != nil {
		return c, err
	}
	if c.baseURL, err = urlSetting(s, "base_url", DefaultBaseURL); err != nil {
		return c, err
	}
	if c.maxTokens, err = intSetting(s, "max_tokens", DefaultMaxTokens); err != nil {
		return c, err
	}
	if c.concurrency, err = intSetting(s, "concurrency", DefaultConcurrency); err != nil {
		return c, err
	}
	if c.rateLimit, err = parseRateLimit(s["rate_limit"]); err != nil {
		return c, err
	}
	if c.timeouts, err = transport.ParseTimeouts(s["timeouts"]); err != nil {
		return c, errors.New(strings.TrimPrefix(err.Error(), "setting "))
	}
	c.gateway, err = parseGateway(s["gateway"])
	return c, err
}

var gatewayKeys = []string{"id", "base_url", "authorization", "cache_ttl", "skip_cache", "cache_key", "request_timeout", "metadata", "max_attempts"}

// parseGateway decodes the optional `gateway:` object.
func parseGateway(v any) (*gatewayConfig, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("gateway: want an object with at least id, got %s", typeName(v))
	}
	if err := unknownKeys("gateway.", m, gatewayKeys); err != nil {
		return nil, err
	}
	g := &gatewayConfig{}
	var err error
	if g.id, err = requiredString(m, "id"); err != nil {
		return nil, fmt.Errorf("gateway.%w", err)
	}
	if strings.ContainsAny(g.id, "/?#% ") || len(g.id) > 64 {
		return nil, fmt.Errorf("gateway.id: %q is not a gateway name (at most 64 characters, no slashes or spaces)", g.id)
	}
	if g.baseURL, err = urlSetting(m, "base_url", DefaultGatewayBaseURL); err != nil {
		return nil, fmt.Errorf("gateway.%w", err)
	}
	if g.auth, err = stringSetting(m, "authorization"); err != nil {
		return nil, fmt.Errorf("gateway.%w", err)
	}
	g.auth = strings.TrimPrefix(g.auth, "Bearer ")
	if err := parseGatewayOptions(m, &g.opts); err != nil {
		return nil, fmt.Errorf("gateway.%w", err)
	}
	return g, nil
}

// parseGatewayOptions reads the cf-aig-* defaults of the gateway object.
func parseGatewayOptions(m map[string]any, o *providers.GatewayOptions) error {
	var err error
	if o.CacheTTL, err = durationSetting(m, "cache_ttl", time.Second); err != nil {
		return err
	}
	if o.CacheTTL != 0 && (o.CacheTTL < time.Minute || o.CacheTTL > 31*24*time.Hour) {
		return fmt.Errorf("cache_ttl: %s is outside AI Gateway's range of 60s to one month", o.CacheTTL)
	}
	if o.RequestTimeout, err = durationSetting(m, "request_timeout", time.Millisecond); err != nil {
		return err
	}
	if o.SkipCache, err = boolSetting(m, "skip_cache"); err != nil {
		return err
	}
	if _, ok := m["cache_key"]; ok {
		return errors.New("cache_key: " + transport.CacheKeyRefused)
	}
	if o.MaxAttempts, err = intSetting(m, "max_attempts", 0); err != nil {
		return err
	}
	if o.MaxAttempts > 5 {
		return fmt.Errorf("max_attempts: %d is above AI Gateway's maximum of 5", o.MaxAttempts)
	}
	o.Metadata, err = metadataSetting(m["metadata"])
	return err
}

// metadataSetting reads cf-aig-metadata: an object of at most 5 scalar values.
// Numbers and booleans stay numbers and booleans: the gateway accepts string, number
// and boolean values and logs them with their type.
func metadataSetting(v any) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("metadata: want an object of strings, numbers or booleans, got %s", typeName(v))
	}
	if len(m) > 5 {
		return nil, fmt.Errorf("metadata: %d entries, AI Gateway keeps at most 5", len(m))
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		switch val.(type) {
		case float64:
			if math.IsInf(val.(float64), 0) || math.IsNaN(val.(float64)) {
				return nil, fmt.Errorf("metadata.%s: want a finite number, got %v", k, val)
			}
			out[k] = val
		case string, bool, int, int64:
			out[k] = val
		default:
			return nil, fmt.Errorf("metadata.%s: want a string, number or boolean, got %s", k, typeName(val))
		}
	}
	return out, nil
}

// parseRateLimit reads `rate_limit`: a number (requests per minute for every task), an
// object of task → requests per minute plus optional burst, or "off".
func parseRateLimit(v any) (rateLimit, error) {
	rl := rateLimit{perTask: map[providers.Task]float64{}}
	switch t := v.(type) {
	case nil:
		return rl, nil
	case string:
		if t == "off" {
			rl.off = true
			return rl, nil
		}
	case map[string]any:
		return rl, rl.parseObject(t)
	default:
		if n, ok := number(v); ok && n > 0 {
			rl.all = n
			return rl, nil
		}
	}
	return rl, fmt.Errorf("rate_limit: want requests per minute (a positive number), an object of task: requests per minute, or \"off\"; got %v", v)
}

func (rl *rateLimit) parseObject(m map[string]any) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n, ok := number(m[k])
		if !ok || n <= 0 || (k == "burst" && n != math.Trunc(n)) {
			return fmt.Errorf("rate_limit.%s: want a positive number, got %v", k, m[k])
		}
		switch task := providers.Task(k); task {
		case providers.TaskGenerate, providers.TaskEmbed, providers.TaskSummarize, providers.TaskTranslate, providers.TaskClassify:
			rl.perTask[task] = n
		default:
			if k != "burst" {
				return fmt.Errorf("rate_limit.%s: unknown task (want generate, embed, summarize, translate, classify or burst)", k)
			}
			rl.burst = int(n)
		}
	}
	return nil
}

// unknownKeys rejects keys outside known, suggesting the list.
func unknownKeys(prefix string, m map[string]any, known []string) error {
	for k := range m {
		if !contains(known, k) {
			return fmt.Errorf("%s%s: unknown (workers-ai accepts %s)", prefix, k, strings.Join(known, ", "))
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func stringSetting(m map[string]any, key string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: want a string, got %s", key, typeName(v))
	}
	return s, nil
}

func requiredString(m map[string]any, key string) (string, error) {
	s, err := stringSetting(m, key)
	if err == nil && s == "" {
		err = fmt.Errorf("%s: required", key)
	}
	return s, err
}

func urlSetting(m map[string]any, key, def string) (string, error) {
	s, err := stringSetting(m, key)
	if err != nil || s == "" {
		return def, err
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s: %q is not an http(s) URL", key, s)
	}
	return strings.TrimSuffix(s, "/"), nil
}

func intSetting(m map[string]any, key string, def int) (int, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return def, nil
	}
	n, ok := number(v)
	if !ok || n != math.Trunc(n) || n < 0 || n > math.MaxInt32 {
		return 0, fmt.Errorf("%s: want a non-negative integer, got %v", key, v)
	}
	return int(n), nil
}

func boolSetting(m map[string]any, key string) (bool, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s: want true or false, got %v", key, v)
	}
	return b, nil
}

// durationSetting reads a Go duration string ("1h", "90s") or a bare number in unit.
func durationSetting(m map[string]any, key string, unit time.Duration) (time.Duration, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return 0, nil
	}
	if s, isStr := v.(string); isStr {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("%s: %q is not a duration such as 90s or 1h", key, s)
		}
		return d, nil
	}
	if d, isDur := v.(time.Duration); isDur && d >= 0 {
		return d, nil
	}
	n, isNum := number(v)
	if !isNum || n < 0 {
		return 0, fmt.Errorf("%s: want a duration such as 90s or 1h, got %v", key, v)
	}
	return time.Duration(n * float64(unit)), nil
}

// number converts the numeric types YAML and JSON decoding produce.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	return 0, false
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	if _, ok := number(v); ok {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
