package anthropic

import (
	"fmt"

	"github.com/aiflow/aiflow/providers/internal/setting"
	"github.com/aiflow/aiflow/providers/transport"
)

// Defaults of the settings.
const (
	DefaultBaseURL        = "https://api.anthropic.com"
	DefaultGatewayBaseURL = transport.DefaultGatewayBaseURL
	DefaultMaxTokens      = 1024
)

// config is a provider entry's settings, decoded and checked.
type config struct {
	apiKey    string
	baseURL   string
	maxTokens int
	gateway   *transport.GatewaySettings
	timeouts  transport.Timeouts
}

var knownSettings = []string{"api_key", "base_url", "gateway", "max_tokens", "timeouts"}

// parseSettings decodes and checks the settings of one `providers.<name>` entry.
func parseSettings(s map[string]any) (config, error) {
	c := config{}
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
	if c.maxTokens, err = setting.Int(s, "max_tokens"); err != nil {
		return c, err
	}
	if c.gateway, err = transport.ParseGateway(s["gateway"]); err != nil {
		return c, err
	}
	if c.timeouts, err = transport.ParseTimeouts(s["timeouts"]); err != nil {
		return c, err
	}
	return c, c.resolve()
}

func (c *config) resolve() error {
	var err error
	if c.baseURL, _, err = transport.ResolveBaseURL(c.baseURL, DefaultBaseURL, c.gateway, "anthropic"); err != nil {
		return err
	}
	if c.apiKey == "" && (c.gateway == nil || c.gateway.Auth == "") {
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
	return c.gateway != nil || transport.IsGatewayURL(c.baseURL)
}
