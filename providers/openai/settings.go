package openai

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/aiflow/aiflow/providers/internal/setting"
	"github.com/aiflow/aiflow/providers/transport"
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
	gateway  *transport.GatewaySettings
	endpoint string // the gateway's endpoint, set with gateway
	timeouts transport.Timeouts
}

var knownSettings = []string{"api_key", "base_url", "gateway", "organization", "max_tokens_field", "timeouts"}

// parseSettings decodes and checks the settings of one `providers.<name>` entry.
func parseSettings(s map[string]any) (config, error) {
	var c config
	if err := setting.CheckKeys("", s, knownSettings); err != nil {
		return c, err
	}
	var err error
	if c.apiKey, err = setting.String(s, "api_key"); err != nil {
		return c, err
	}
	if c.baseURL, err = setting.String(s, "base_url"); err != nil {
		return c, err
	}
	if c.org, err = setting.String(s, "organization"); err != nil {
		return c, err
	}
	if c.maxField, err = setting.String(s, "max_tokens_field"); err != nil {
		return c, err
	}
	if c.gateway, c.endpoint, err = parseGateway(s["gateway"]); err != nil {
		return c, err
	}
	if c.timeouts, err = transport.ParseTimeouts(s["timeouts"]); err != nil {
		return c, err
	}
	return c, c.resolve()
}

// resolve fills defaults and checks the combination of settings.
func (c *config) resolve() error {
	var u *url.URL
	var err error
	if c.baseURL, u, err = transport.ResolveBaseURL(c.baseURL, DefaultBaseURL, c.gateway, c.endpoint); err != nil {
		return err
	}
	storedKeys := c.gateway != nil && c.gateway.Auth != ""
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
		if u.Hostname() == "api.openai.com" || (c.gateway != nil && c.endpoint == endpointOpenAI) {
			c.maxField = FieldMaxCompletionTokens
		}
		return nil
	}
	return fmt.Errorf("setting max_tokens_field: %q is not %q or %q", c.maxField, FieldMaxCompletionTokens, FieldMaxTokens)
}

// compat reports whether requests go to AI Gateway's unified endpoint, which needs
// provider/model names.
func (c *config) compat() bool {
	return (c.gateway != nil && c.endpoint == endpointCompat) || strings.HasSuffix(c.baseURL, "/compat")
}

// viaGateway reports whether requests go through AI Gateway, so cf-aig-* headers apply.
func (c *config) viaGateway() bool {
	return c.gateway != nil || transport.IsGatewayURL(c.baseURL)
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
