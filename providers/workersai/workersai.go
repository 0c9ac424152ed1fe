package workersai

import (
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/providers/transport"
)

// Kind is the provider kind name in flow files.
const Kind = "workers-ai"

func init() { providers.MustRegister(Info) }

// Info describes the workers-ai kind to the registry.
var Info = providers.Info{
	Name:    Kind,
	Summary: "Cloudflare Workers AI REST API, optionally through AI Gateway.",
	Tasks: []providers.Task{providers.TaskGenerate, providers.TaskEmbed, providers.TaskSummarize,
		providers.TaskTranslate, providers.TaskClassify, providers.TaskImage, providers.TaskClassifyImage, providers.TaskToMarkdown, providers.TaskTranscribe},
	// Text-to-image models publish different request forms; only those aiflow builds.
	Models:     map[providers.Task][]string{providers.TaskImage: imageModelIDs()},
	AsyncBatch: []providers.Task{providers.TaskGenerate, providers.TaskEmbed},
	// The models developers.cloudflare.com/workers-ai/features/batch-api lists.
	BatchModels: map[providers.Task][]string{
		providers.TaskGenerate: {"@cf/meta/llama-3.3-70b-instruct-fp8-fast"},
		providers.TaskEmbed: {"@cf/baai/bge-small-en-v1.5", "@cf/baai/bge-base-en-v1.5",
			"@cf/baai/bge-large-en-v1.5", "@cf/baai/bge-m3"},
	},
	Settings: []providers.SettingField{
		{Name: "account_id", Type: "string", Required: true, Doc: "Cloudflare account id."},
		{Name: "api_token", Type: "string", Required: true, Secret: true, Doc: "API token with Workers AI Read and Edit."},
		{Name: "base_url", Type: "string", Doc: "Cloudflare API root; default " + DefaultBaseURL + "."},
		{Name: "gateway", Type: "object", Doc: "Route calls through AI Gateway: id (required), base_url (default " +
			DefaultGatewayBaseURL + "), authorization (secret, for authenticated gateways), cache_ttl, skip_cache, " +
			"request_timeout, metadata (at most 5 entries), max_attempts."},
		{Name: "rate_limit", Type: "any", Doc: "Requests per minute: a number for every task, an object of " +
			"task: requests per minute (plus burst), or \"off\". Default: Cloudflare's published per-task limits."},
		{Name: "max_tokens", Type: "int", Doc: "max_tokens sent when a step sets none (default 1024; Workers AI's own default of 256 cuts long answers)."},
		{Name: "concurrency", Type: "int", Doc: "Calls in flight the engine may start (default 32)."},
		{Name: "timeouts", Type: "object", Doc: transport.TimeoutsDoc},
	},
	New: New,
}

// Provider is a configured Workers AI connection. It is safe for concurrent use; its rate
// limiters are shared by all of its calls.
type Provider struct {
	cfg     config
	name    string
	secrets []string
	base    http.RoundTripper
	own     *http.Transport // base, when the provider created it
	retry   providers.RetryPolicy
	debug   io.Writer
	onWait  func(int, time.Duration)
	onAdmit func(time.Time)

	mu      sync.Mutex
	clients map[string]*http.Client // one per rate-limit bucket
}

// CloudflareCredentials lends the provider's account to Cloudflare backends that share it
// (the vectorize index backend). The token is a secret: never log it.
func (p *Provider) CloudflareCredentials() (accountID, apiToken, baseURL string) {
	return p.cfg.accountID, p.cfg.apiToken, p.cfg.baseURL
}

var (
	_ providers.Generator  = (*Provider)(nil)
	_ providers.Embedder   = (*Provider)(nil)
	_ providers.Summarizer = (*Provider)(nil)
	_ providers.Translator = (*Provider)(nil)
	_ providers.Classifier = (*Provider)(nil)
	_ providers.Limiter    = (*Provider)(nil)
)

// Option tunes Open beyond what a flow file can say.
type Option func(*Provider)

// WithDebug writes a redacted trace line per HTTP attempt to w.
func WithDebug(w io.Writer) Option { return func(p *Provider) { p.debug = w } }

// WithBackoffHook calls f with each failed attempt's number and the wait chosen before
// the next one (tests check waits without timing them).
func WithBackoffHook(f func(attempt int, wait time.Duration)) Option {
	return func(p *Provider) { p.onWait = f }
}

// WithAdmitHook calls f with the time the rate limiter schedules each attempt for
// (benchmarks verify the limit with it).
func WithAdmitHook(f func(at time.Time)) Option { return func(p *Provider) { p.onAdmit = f } }

// New is the registry constructor: Open without options.
func New(cfg providers.Config) (providers.Provider, error) { return Open(cfg) }

// Open builds a provider from a resolved flow entry. Settings are read only from
// cfg.Settings; cfg.HTTPClient's transport, when set, carries the requests.
func Open(cfg providers.Config, opts ...Option) (*Provider, error) {
	c, err := parseSettings(cfg.Settings)
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: c, name: cfg.Name, retry: cfg.Retry, clients: map[string]*http.Client{}, debug: cfg.Debug}
	p.secrets = []string{c.apiToken}
	if c.gateway != nil && c.gateway.auth != "" {
		p.secrets = append(p.secrets, c.gateway.auth)
	}
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		p.base = cfg.HTTPClient.Transport
	} else {
		p.own = transport.NewBase() // shared by every bucket's client
		p.base = p.own
	}
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// Kind returns "workers-ai".
func (p *Provider) Kind() string { return Kind }

// Close releases the idle connections of the transport it created (not of one passed in
// Config.HTTPClient).
func (p *Provider) Close() error {
	if p.own != nil {
		p.own.CloseIdleConnections()
	}
	return nil
}

// Limits declares how many calls the engine may have in flight.
func (p *Provider) Limits() providers.Limits {
	return providers.Limits{Concurrency: p.cfg.concurrency}
}

// client returns the HTTP client of the rate-limit bucket that serves task on model.
func (p *Provider) client(task providers.Task, model string) *http.Client {
	key, perMinute := p.bucket(task, model)
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[key]; ok {
		return c
	}
	opts := transport.Options{
		Provider: Kind, Retry: p.retry, Classify: classify, Secrets: p.secrets, Timeouts: p.cfg.timeouts,
		Base: p.base, Debug: p.debug, OnBackoff: p.onWait, OnAdmit: p.onAdmit,
	}
	if perMinute > 0 {
		burst := max(p.cfg.rateLimit.burst, 1)
		opts.Limiter = rate.NewLimiter(rate.Limit(perMinute/60), burst)
	}
	c := transport.New(opts)
	p.clients[key] = c
	return c
}

// bucket names the rate-limit budget of a call and its requests per minute (0: none).
func (p *Provider) bucket(task providers.Task, model string) (string, float64) {
	rl := p.cfg.rateLimit
	switch {
	case rl.off:
		return "off", 0
	case rl.perTask[task] > 0:
		return string(task), rl.perTask[task]
	case rl.all > 0:
		return string(task), rl.all
	}
	if n, ok := catalog.RequestsPerMinute(Kind, task, ""); ok {
		if m, ok := catalog.RequestsPerMinute(Kind, task, model); ok && m != n {
			return string(task) + " " + model, float64(m)
		}
		return string(task), float64(n)
	}
	return string(task), 0
}
