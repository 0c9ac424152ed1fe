package openai

import (
	"fmt"
	"net/http"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/internal/sdkprovider"
	"github.com/aiflow/aiflow/providers/transport"
)

// Kind is the provider kind name used in flow files.
const Kind = "openai"

func init() { providers.MustRegister(Info) }

// Info describes the openai provider kind to the registry.
var Info = providers.Info{
	Name:          Kind,
	Summary:       "OpenAI, or any OpenAI-compatible server (Ollama, vLLM, llama.cpp, Workers AI /ai/v1, AI Gateway).",
	Tasks:         []providers.Task{providers.TaskGenerate, providers.TaskEmbed, providers.TaskTranscribe, providers.TaskImage},
	AsyncBatch:    []providers.Task{providers.TaskGenerate, providers.TaskEmbed},
	BatchDiscount: batchDiscount,
	Settings: []providers.SettingField{
		{Name: "api_key", Type: "string", Secret: true, Doc: "API key sent as a Bearer token. Required unless base_url is a local or private-network server, or an authenticated gateway holds the key."},
		{Name: "base_url", Type: "string", Doc: "API root; default https://api.openai.com/v1. Point it at Ollama (http://localhost:11434/v1), vLLM, llama.cpp, Workers AI (.../accounts/{id}/ai/v1) or an AI Gateway path."},
		{Name: "gateway", Type: "object", Doc: "Go through Cloudflare AI Gateway: id, account_id, endpoint (openai | compat | workers-ai), authorization (secret), cache_ttl, skip_cache, metadata, request_timeout, max_attempts, base_url. Excludes base_url."},
		{Name: "organization", Type: "string", Doc: "OpenAI organization id (OpenAI-Organization header)."},
		{Name: "max_tokens_field", Type: "string", Doc: "Request field for the token limit: max_completion_tokens (default for api.openai.com and the gateway's openai endpoint) or max_tokens (default for every other server)."},
		{Name: "timeouts", Type: "object", Doc: transport.TimeoutsDoc},
	},
	New: New,
}

// Provider is a configured OpenAI-compatible connection. It is safe for concurrent use.
type Provider struct {
	kind    string
	cfg     config
	client  *http.Client
	chat    oai.ChatCompletionService
	embed   oai.EmbeddingService
	files   oai.FileService               // batch input and output files (batch.go)
	batches oai.BatchService              // the Batch API (batch.go)
	audio   oai.AudioTranscriptionService // speech to text (audio.go)
	images  oai.ImageService              // text to image (image.go)
	secrets []string
}

var (
	_ providers.Provider  = (*Provider)(nil)
	_ providers.Generator = (*Provider)(nil)
	_ providers.Embedder  = (*Provider)(nil)
)

// New builds a provider from a flow's settings. It does no I/O. The HTTP client is the
// shared retrying transport configured from c.Retry; c.HTTPClient's transport, when
// given, is used underneath it.
func New(c providers.Config) (providers.Provider, error) {
	cfg, err := parseSettings(c.Settings)
	if err != nil {
		return nil, fmt.Errorf("provider %s (openai): %w", c.Name, err)
	}
	p := &Provider{kind: Kind, cfg: cfg, secrets: []string{cfg.apiKey}}
	if cfg.gateway != nil {
		p.secrets = append(p.secrets, cfg.gateway.Auth)
	}
	p.client = sdkprovider.NewClient(Kind, c, classify, p.secrets, cfg.timeouts)
	opts := []option.RequestOption{
		option.WithBaseURL(cfg.baseURL), option.WithHTTPClient(p.client), option.WithMaxRetries(0),
	}
	if cfg.apiKey != "" {
		opts = append(opts, option.WithAPIKey(cfg.apiKey))
	}
	if cfg.org != "" {
		opts = append(opts, option.WithOrganization(cfg.org))
	}
	// The services are built directly, not through oai.NewClient, so that no OPENAI_*
	// environment variable leaks into a flow's configuration.
	p.chat = oai.NewChatCompletionService(opts...)
	p.embed = oai.NewEmbeddingService(opts...)
	p.files = oai.NewFileService(opts...)
	p.batches = oai.NewBatchService(opts...)
	p.audio = oai.NewAudioTranscriptionService(opts...)
	p.images = oai.NewImageService(opts...)
	return p, nil
}

// Kind returns "openai".
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
