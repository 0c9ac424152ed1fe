package anthropic

import (
	"fmt"
	"net/http"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/internal/sdkprovider"
	"github.com/aiflow/aiflow/providers/transport"
)

// Kind is the provider kind name used in flow files.
const Kind = "anthropic"

func init() { providers.MustRegister(Info) }

// Info describes the anthropic provider kind to the registry.
var Info = providers.Info{
	Name:          Kind,
	Summary:       "Anthropic Messages API (Claude), directly or through Cloudflare AI Gateway.",
	Tasks:         []providers.Task{providers.TaskGenerate},
	AsyncBatch:    []providers.Task{providers.TaskGenerate},
	BatchDiscount: batchDiscount,
	Settings: []providers.SettingField{
		{Name: "api_key", Type: "string", Secret: true, Doc: "Anthropic API key (x-api-key). Required unless an authenticated gateway holds the key."},
		{Name: "base_url", Type: "string", Doc: "API root without /v1; default https://api.anthropic.com."},
		{Name: "gateway", Type: "object", Doc: "Go through Cloudflare AI Gateway ({base}/{account_id}/{id}/anthropic): id, account_id, authorization (secret), cache_ttl, skip_cache, metadata, request_timeout, max_attempts, base_url. Excludes base_url."},
		{Name: "max_tokens", Type: "int", Doc: "max_tokens sent when a step sets none (the API requires one); default 1024."},
		{Name: "timeouts", Type: "object", Doc: transport.TimeoutsDoc},
	},
	New: New,
}

// Provider is a configured Anthropic connection. It is safe for concurrent use.
type Provider struct {
	kind     string
	cfg      config
	client   *http.Client
	messages sdk.MessageService
	secrets  []string
}

var (
	_ providers.Provider  = (*Provider)(nil)
	_ providers.Generator = (*Provider)(nil)
)

// New builds a provider from a flow's settings. It does no I/O. The HTTP client is the
// shared retrying transport configured from c.Retry; c.HTTPClient's transport, when
// given, is used underneath it.
func New(c providers.Config) (providers.Provider, error) {
	cfg, err := parseSettings(c.Settings)
	if err != nil {
		return nil, fmt.Errorf("provider %s (anthropic): %w", c.Name, err)
	}
	p := &Provider{kind: Kind, cfg: cfg, secrets: []string{cfg.apiKey}}
	if cfg.gateway != nil {
		p.secrets = append(p.secrets, cfg.gateway.Auth)
	}
	p.client = sdkprovider.NewClient(Kind, c, classify, p.secrets, cfg.timeouts)
	opts := []option.RequestOption{
		option.WithoutEnvironmentDefaults(), option.WithBaseURL(cfg.baseURL),
		option.WithHTTPClient(p.client), option.WithMaxRetries(0),
	}
	if cfg.apiKey != "" {
		opts = append(opts, option.WithAPIKey(cfg.apiKey))
	}
	p.messages = sdk.NewMessageService(opts...)
	return p, nil
}

// Kind returns "anthropic".
func (p *Provider) Kind() string { return p.kind }

// Close releases idle connections.
func (p *Provider) Close() error {
	p.client.CloseIdleConnections()
	return nil
}

// requestOptions returns the per-request SDK options: AI Gateway headers and capture of
// the response for its headers.
func (p *Provider) requestOptions(gw *providers.GatewayOptions, resp **http.Response) ([]option.RequestOption, error) {
	opts := []option.RequestOption{option.WithResponseInto(resp)}
	if !p.cfg.viaGateway() {
		return opts, nil
	}
	h, err := transport.GatewayHeaders(p.cfg.gateway, gw)
	if err != nil {
		return nil, err
	}
	for k := range h {
		opts = append(opts, option.WithHeader(k, h.Get(k)))
	}
	return opts, nil
}
