package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"

	"github.com/aiflow/aiflow/providers"
)

// Defaults applied to a zero providers.RetryPolicy.
const (
	DefaultAttempts   = 4
	DefaultBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// maxErrorBody bounds how much of a non-2xx body is read for classification.
const maxErrorBody = 1 << 20

// Options configures a retrying, rate-limited, redacting HTTP client for one provider.
type Options struct {
	// Provider is the provider kind for error messages, e.g. "workers-ai".
	Provider string
	// Retry bounds attempts (default 4), the first backoff (500ms) and the cap on every
	// wait (30s), which also caps Retry-After.
	Retry providers.RetryPolicy
	// RatePerSecond is the token bucket's rate (golang.org/x/time/rate); 0 = unlimited.
	RatePerSecond float64
	// Burst is the token bucket's size; default 1.
	Burst int
	// Limiter, when set, is used instead of one built from RatePerSecond and Burst, so
	// several clients can share one budget.
	Limiter *rate.Limiter
	// Classify turns a non-2xx response (body already read) into a typed error; nil, or a
	// nil result, means DefaultClassify. Provider, Status and RetryAfter are filled in
	// when left zero, and Message is redacted afterwards.
	Classify func(resp *http.Response, body []byte) *providers.Error
	// Secrets are values redacted (replaced by "[REDACTED]") from every error and debug trace.
	Secrets []string
	// Timeouts bound each attempt: the wait for headers, the silence between body reads
	// and the whole attempt. Zero fields take the defaults (see Timeouts.effective).
	Timeouts Timeouts
	// MaxBody caps every response body (DefaultMaxBody when zero): reading past it fails
	// with a final *providers.Error coded response_too_large.
	MaxBody int64
	// Base is the underlying transport; default NewBase().
	Base http.RoundTripper
	// Debug, when set, receives a redacted one-line trace per attempt (method, URL,
	// status, duration, attempt).
	Debug io.Writer
	// OnBackoff, when set, is called with the attempt that just failed (1-based) and the
	// wait chosen before the next one. Tests use it to check waits without timing them.
	OnBackoff func(attempt int, wait time.Duration)
	// OnAdmit, when set, is called with the time the rate limiter schedules each attempt
	// for (its own arithmetic, free of wake-up jitter), so callers can verify the limit.
	OnAdmit func(at time.Time)
}

// New returns an *http.Client backed by hashicorp/go-retryablehttp with aiflow's policy.
// For every final non-2xx response, and for connection errors, Do returns a
// *providers.Error (wrapped in the *url.Error that net/http adds; see Cause) carrying
// status, code, the body's message, Retryable, Quota and RetryAfter. Context
// cancellation is returned as the context's error, immediately, also while waiting.
// Request bodies are buffered so that every attempt sends the same bytes.
func New(opts Options) *http.Client {
	c := newClient(opts)
	rc := &retryablehttp.Client{
		HTTPClient:   &http.Client{Transport: &attemptTransport{c: c}},
		RetryWaitMin: c.opts.Retry.Backoff,
		RetryWaitMax: c.opts.Retry.MaxBackoff,
		RetryMax:     c.opts.Retry.Attempts - 1,
		CheckRetry:   c.checkRetry,
		Backoff:      c.backoff,
		ErrorHandler: c.handleError,
	}
	return &http.Client{Transport: &entryTransport{next: &retryablehttp.RoundTripper{Client: rc}}}
}

// client holds the policy shared by the transports of one New call.
type client struct {
	opts    Options
	secrets []string
	limiter *rate.Limiter
}

func newClient(opts Options) *client {
	if opts.Retry.Attempts <= 0 {
		opts.Retry.Attempts = DefaultAttempts
	}
	if opts.Retry.Backoff <= 0 {
		opts.Retry.Backoff = DefaultBackoff
	}
	if opts.Retry.MaxBackoff <= 0 {
		opts.Retry.MaxBackoff = DefaultMaxBackoff
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Burst <= 0 {
		opts.Burst = 1
	}
	if opts.Base == nil {
		opts.Base = NewBase()
	}
	if opts.Provider == "" {
		opts.Provider = "http"
	}
	c := &client{opts: opts, secrets: sortedSecrets(opts.Secrets), limiter: opts.Limiter}
	if c.limiter == nil && opts.RatePerSecond > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(opts.RatePerSecond), opts.Burst)
	}
	return c
}

// maxIdlePerHost keeps enough idle connections for a provider's fan-out to one host
// (go-cleanhttp's default keeps GOMAXPROCS+1 and churns connections under load).
const maxIdlePerHost = 64

// NewBase returns a pooled transport (go-cleanhttp's settings, more idle connections
// per host). Several clients of one provider should share one, so they share its pool.
func NewBase() *http.Transport {
	t := cleanhttp.DefaultPooledTransport()
	t.MaxIdleConnsPerHost = maxIdlePerHost
	return t
}

// redact hides the client's secrets in s.
func (c *client) redact(s string) string { return Redact(s, c.secrets) }

// Cause returns the *providers.Error inside err (net/http wraps transport errors in a
// *url.Error whose text repeats the URL), or err itself when there is none.
func Cause(err error) error {
	var pe *providers.Error
	if errors.As(err, &pe) {
		return pe
	}
	return err
}

// entryTransport gives each logical request its attempt counter.
type entryTransport struct{ next http.RoundTripper }

type attemptKey struct{}

func (t *entryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	n := new(int)
	return t.next.RoundTrip(req.WithContext(context.WithValue(req.Context(), attemptKey{}, n)))
}

// attemptNumber increments and returns the request's attempt counter (1 when unknown).
func attemptNumber(ctx context.Context) int {
	n, ok := ctx.Value(attemptKey{}).(*int)
	if !ok {
		return 1
	}
	*n++
	return *n
}
