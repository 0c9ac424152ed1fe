package vectorize

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/aiflow/aiflow/providers"
)

// Defaults for settings left out.
const (
	DefaultBaseURL = "https://api.cloudflare.com/client/v4"
	// DefaultBatchSize is how many vectors one upsert request carries (Vectorize allows 5000).
	DefaultBatchSize = 1000
	// DefaultWait is the wait_for_mutation timeout that `true` stands for, and the wait for
	// metadata indexes created by Open when wait_for_mutation is off.
	DefaultWait = 60 * time.Second
	// DefaultRatePerMinute keeps one index's calls within Cloudflare's account-wide API
	// limit of 1200 requests per 5 minutes.
	DefaultRatePerMinute = 240
	defaultBurst         = 50
)

// Credentials is implemented by a provider (the workers-ai provider) that lends its
// Cloudflare account to the backend: the account id, the API token and the API root.
type Credentials interface {
	CloudflareCredentials() (accountID, apiToken, baseURL string)
}

// account is where the backend sends its requests.
type account struct {
	id, token, baseURL string
}

// resolveAccount takes the account from the provider when it implements Credentials,
// then lets the account_id, api_token and base_url settings override it.
func resolveAccount(cfg providers.IndexBackendConfig) (account, error) {
	var a account
	creds, lends := cfg.Provider.(Credentials)
	if lends {
		a.id, a.token, a.baseURL = creds.CloudflareCredentials()
	}
	for _, set := range []struct {
		key string
		dst *string
	}{{"account_id", &a.id}, {"api_token", &a.token}, {"base_url", &a.baseURL}} {
		s, err := stringSetting(cfg.Settings, set.key)
		if err != nil {
			return a, err
		}
		if s != "" {
			*set.dst = s
		}
	}
	if a.baseURL == "" {
		a.baseURL = DefaultBaseURL
	}
	if a.id == "" || a.token == "" {
		return a, missingAccount(cfg.Provider, lends)
	}
	if strings.ContainsAny(a.id, "/?#% ") {
		return a, fmt.Errorf("account_id: %q is not a Cloudflare account id", a.id)
	}
	if u, err := url.Parse(a.baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return a, fmt.Errorf("base_url: %q is not an http(s) URL", a.baseURL)
	}
	return a, nil
}

// missingAccount explains where the account id and token should come from.
func missingAccount(p providers.Provider, lends bool) error {
	switch {
	case p == nil:
		return fmt.Errorf("no Cloudflare account: name a workers-ai provider (provider: <name>) or set account_id and api_token")
	case !lends:
		return fmt.Errorf("provider of kind %q does not lend its Cloudflare account (it has no CloudflareCredentials method); set account_id and api_token on the resource", p.Kind())
	}
	return fmt.Errorf("provider of kind %q lent an empty account id or API token; set account_id and api_token on the resource", p.Kind())
}

// options are the per-index settings.
type options struct {
	wait        time.Duration // 0: do not wait for mutations
	batchSize   int
	description string
}

// parseOptions reads wait_for_mutation, batch_size and description over the defaults in
// o; keys in spec override those in the backend's settings.
func parseOptions(o options, backend, spec map[string]any) (options, error) {
	pick := func(key string) any {
		if v, ok := spec[key]; ok {
			return v
		}
		return backend[key]
	}
	if v := pick("wait_for_mutation"); v != nil {
		var err error
		if o.wait, err = waitSetting(v); err != nil {
			return o, fmt.Errorf("wait_for_mutation: %w", err)
		}
	}
	if v := pick("batch_size"); v != nil {
		n, ok := integer(v)
		if !ok || n < 1 || n > maxBatchVectors {
			return o, fmt.Errorf("batch_size: want an integer from 1 to %d, got %v", maxBatchVectors, v)
		}
		o.batchSize = n
	}
	if v := pick("description"); v != nil {
		s, ok := v.(string)
		if !ok {
			return o, fmt.Errorf("description: want a string, got %T", v)
		}
		o.description = s
	}
	return o, nil
}

// waitSetting reads wait_for_mutation: a bool (true = DefaultWait), a duration string, a
// number of seconds or a time.Duration; nil and false mean no wait.
func waitSetting(v any) (time.Duration, error) {
	var d time.Duration
	switch t := v.(type) {
	case nil:
		return 0, nil
	case bool:
		if t {
			return DefaultWait, nil
		}
		return 0, nil
	case time.Duration:
		d = t
	case string:
		var err error
		if d, err = time.ParseDuration(t); err != nil {
			return 0, fmt.Errorf("want true, false or a duration such as 30s, got %q", t)
		}
	default:
		secs, ok := number(v)
		if !ok {
			return 0, fmt.Errorf("want true, false or a duration such as 30s, got %T", v)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d < 0 {
		return 0, fmt.Errorf("want a positive duration, got %s", d)
	}
	return d, nil
}

// rateSetting reads rate_limit: requests per minute, or "off" (0).
func rateSetting(s map[string]any) (float64, error) {
	v, ok := s["rate_limit"]
	if !ok || v == nil {
		return DefaultRatePerMinute, nil
	}
	if v == "off" {
		return 0, nil
	}
	n, ok := number(v)
	if !ok || n <= 0 {
		return 0, fmt.Errorf("rate_limit: want requests per minute (a positive number) or \"off\", got %v", v)
	}
	return n, nil
}

// stringSetting reads an optional string setting.
func stringSetting(s map[string]any, key string) (string, error) {
	v, ok := s[key]
	if !ok || v == nil {
		return "", nil
	}
	str, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: want a string, got %T", key, v)
	}
	return strings.TrimSpace(str), nil
}

// number reads an int or float setting.
func number(v any) (float64, bool) {
	switch t := v.(type) {
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	case float64:
		return t, !math.IsNaN(t) && !math.IsInf(t, 0)
	}
	return 0, false
}

// integer reads a whole-number setting.
func integer(v any) (int, bool) {
	n, ok := number(v)
	if !ok || n != math.Trunc(n) || math.Abs(n) > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}
