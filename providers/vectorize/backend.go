package vectorize

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

// Name is the backend name in flow files (`backend: vectorize`).
const Name = "vectorize"

func init() {
	providers.MustRegisterIndexBackend(providers.IndexBackendInfo{Name: Name, New: New})
}

var (
	_ providers.IndexBackend = (*Backend)(nil)
	_ providers.VectorIndex  = (*Index)(nil)
)

// Backend creates, opens and deletes Vectorize indexes of one Cloudflare account. It is
// safe for concurrent use; its HTTP client, and so its rate limit, is shared by every
// index it opens.
type Backend struct {
	api      *client
	settings map[string]any
	own      *http.Transport
	base     http.RoundTripper
	poll     time.Duration
	onWait   func(int, time.Duration)
	debug    io.Writer
	defaults options
}

// Option tunes NewBackend beyond what a flow file can say.
type Option func(*Backend)

// WithPollInterval sets the first wait between /info polls while waiting for a mutation
// (default 250ms; it doubles up to 2s, or up to d when d is longer). d <= 0 is ignored.
func WithPollInterval(d time.Duration) Option {
	return func(b *Backend) {
		if d > 0 {
			b.poll = d
		}
	}
}

// WithWaitForMutation sets the wait_for_mutation timeout of indexes whose settings give
// none (default 0: do not wait).
func WithWaitForMutation(d time.Duration) Option {
	return func(b *Backend) { b.defaults.wait = max(d, 0) }
}

// WithBackoffHook calls f with each failed HTTP attempt's number and the wait chosen
// before the next one.
func WithBackoffHook(f func(attempt int, wait time.Duration)) Option {
	return func(b *Backend) { b.onWait = f }
}

// WithTransport carries the requests over rt instead of the backend's own pooled
// transport (tests, tracing); retries, rate limit and redaction still apply on top.
func WithTransport(rt http.RoundTripper) Option { return func(b *Backend) { b.base = rt } }

// WithDebug writes a redacted trace line per HTTP attempt to w.
func WithDebug(w io.Writer) Option { return func(b *Backend) { b.debug = w } }

// defaultPoll is the first wait between /info polls.
const defaultPoll = 250 * time.Millisecond

// New is the registry constructor: NewBackend without options.
func New(cfg providers.IndexBackendConfig) (providers.IndexBackend, error) { return NewBackend(cfg) }

// NewBackend resolves the account (see Credentials) and builds the HTTP client: retries
// per cfg.Retry, the rate_limit setting, the API token redacted from every error.
func NewBackend(cfg providers.IndexBackendConfig, opts ...Option) (*Backend, error) {
	a, err := resolveAccount(cfg)
	if err != nil {
		return nil, fmt.Errorf("vectorize backend: %w", err)
	}
	perMinute, err := rateSetting(cfg.Settings)
	if err != nil {
		return nil, fmt.Errorf("vectorize backend: %w", err)
	}
	b := &Backend{settings: cfg.Settings, poll: defaultPoll, defaults: options{batchSize: DefaultBatchSize}}
	for _, o := range opts {
		o(b)
	}
	if _, err := parseOptions(b.defaults, cfg.Settings, nil); err != nil {
		return nil, fmt.Errorf("vectorize backend: %w", err)
	}
	if b.base == nil {
		b.own = transport.NewBase()
		b.base = b.own
	}
	b.api = newClient(a, transport.New(transport.Options{
		Provider: Name, Retry: cfg.Retry, RatePerSecond: perMinute / 60, Burst: defaultBurst,
		Secrets: []string{a.token}, Base: b.base, Debug: b.debug, OnBackoff: b.onWait,
	}))
	return b, nil
}

// Open opens the index named spec.Name, creating it and its metadata indexes when create
// is true. The index's dimensions and metric must match spec (Vectorize cannot change
// them), and every metadata index of spec must exist with its type. Open waits for the
// metadata indexes it creates; see the package documentation.
func (b *Backend) Open(ctx context.Context, spec providers.IndexSpec, create bool) (providers.VectorIndex, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	o, err := parseOptions(b.defaults, b.settings, spec.Settings)
	if err != nil {
		return nil, fmt.Errorf("vectorize index %q: %w", spec.Name, err)
	}
	x := &Index{b: b, name: spec.Name, dims: spec.Dimensions, metric: spec.Metric, opts: o}
	if err := x.ensure(ctx, spec, create); err != nil {
		return nil, fmt.Errorf("vectorize index %q: %w", spec.Name, err)
	}
	return x, nil
}

// Describe returns the index's real dimensions, metric, vector count (processed writes
// only) and metadata indexes, or ok=false when it does not exist.
func (b *Backend) Describe(ctx context.Context, spec providers.IndexSpec) (providers.IndexInfo, bool, error) {
	if err := checkIndexName(spec.Name); err != nil {
		return providers.IndexInfo{}, false, err
	}
	cfg, err := b.api.get(ctx, spec.Name)
	if isNotFound(err) {
		return providers.IndexInfo{}, false, nil
	}
	if err != nil {
		return providers.IndexInfo{}, false, fmt.Errorf("vectorize index %q: describing: %w", spec.Name, err)
	}
	info, err := b.info(ctx, spec.Name, cfg.metric)
	if err != nil {
		return providers.IndexInfo{}, false, fmt.Errorf("vectorize index %q: describing: %w", spec.Name, err)
	}
	return info, true, nil
}

// info combines GET …/info and the metadata index list.
func (b *Backend) info(ctx context.Context, name, metric string) (providers.IndexInfo, error) {
	in, err := b.api.info(ctx, name)
	if err != nil {
		return providers.IndexInfo{}, err
	}
	meta, err := b.api.listMeta(ctx, name)
	if err != nil {
		return providers.IndexInfo{}, err
	}
	return providers.IndexInfo{Dimensions: in.dims, Metric: metric, Count: in.count, MetadataIndexes: meta}, nil
}

// Delete removes the index and its vectors; deleting a missing index succeeds.
func (b *Backend) Delete(ctx context.Context, spec providers.IndexSpec) error {
	if err := checkIndexName(spec.Name); err != nil {
		return err
	}
	if err := b.api.delete(ctx, spec.Name); err != nil && !isNotFound(err) {
		return fmt.Errorf("vectorize index %q: deleting: %w", spec.Name, err)
	}
	return nil
}

// Close releases the idle connections of the transport the backend created (not of one
// given WithTransport).
func (b *Backend) Close() error {
	if b.own != nil {
		b.own.CloseIdleConnections()
	}
	return nil
}
