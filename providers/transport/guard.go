package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/internal/setting"
)

// Default bounds of one attempt, applied when neither the provider entry's timeouts
// setting nor a deadline on the request's context (a step's or the flow's timeout:)
// says otherwise. A non-streamed generation sends its headers only once the whole answer
// is ready, hence the long header default; a streamed one sends them at once.
const (
	DefaultHeaderTimeout       = 5 * time.Minute
	DefaultStreamHeaderTimeout = time.Minute
	DefaultIdleTimeout         = 2 * time.Minute
	DefaultAttemptTimeout      = 10 * time.Minute
)

// DefaultMaxBody caps a response body, streamed or not: a runaway stream must fail
// instead of growing memory and the run state without bound.
const DefaultMaxBody = 64 << 20

// Timeouts bound one attempt. A zero field takes its default (see effective).
type Timeouts struct {
	// Header bounds the wait for the response headers, from sending the request.
	Header time.Duration
	// Idle bounds the silence between two reads of the body (a stalled stream).
	Idle time.Duration
	// Attempt bounds the whole attempt, from sending the request to the last body byte.
	Attempt time.Duration
}

// TimeoutsDoc documents the timeouts setting of the providers that take it.
const TimeoutsDoc = "Bounds of each HTTP attempt: header (wait for the response headers; default 5m, 1m when streaming), " +
	"idle (longest silence while the body streams; default 2m) and attempt (whole attempt; default 10m), as durations " +
	"like 30s. A step's timeout: replaces the header and attempt defaults."

// timeoutKeys are the keys of the timeouts setting, in Timeouts' order.
var timeoutKeys = []string{"header", "idle", "attempt"}

// ParseTimeouts decodes a provider entry's `timeouts:` setting, an object of header,
// idle and attempt durations ("30s", or a number of seconds). A nil raw is all zero,
// i.e. the defaults.
func ParseTimeouts(raw any) (Timeouts, error) {
	var t Timeouts
	if raw == nil {
		return t, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return t, fmt.Errorf("setting timeouts: want an object with header, idle and attempt durations, got %T", raw)
	}
	for k := range m {
		if !slices.Contains(timeoutKeys, k) {
			return t, fmt.Errorf("setting timeouts.%s: unknown (known: %s)", k, strings.Join(timeoutKeys, ", "))
		}
	}
	for i, field := range []*time.Duration{&t.Header, &t.Idle, &t.Attempt} {
		key := timeoutKeys[i]
		if _, set := m[key]; !set {
			continue
		}
		d, err := setting.Duration(m, key)
		if err != nil {
			return t, fmt.Errorf("setting timeouts.%s: %s", key, strings.TrimPrefix(err.Error(), "setting "+key+": "))
		}
		if d <= 0 {
			return t, fmt.Errorf("setting timeouts.%s: want a positive duration such as 30s, got %s", key, d)
		}
		*field = d
	}
	return t, nil
}

type streamingKey struct{}

// Streaming marks requests made with the returned context as streamed: their headers
// are expected at once, so the header default is DefaultStreamHeaderTimeout.
func Streaming(ctx context.Context) context.Context {
	return context.WithValue(ctx, streamingKey{}, true)
}

// effective fills the zero fields of t for a request made with ctx. A deadline on ctx
// (a step's or the flow's timeout:) replaces the header and attempt defaults, so a step
// may allow a long generation; the idle default stays, since a silent stream is dead
// however long the step may take.
func (t Timeouts) effective(ctx context.Context) Timeouts {
	_, hasDeadline := ctx.Deadline()
	if t.Header == 0 && !hasDeadline {
		t.Header = DefaultHeaderTimeout
		if ctx.Value(streamingKey{}) != nil {
			t.Header = DefaultStreamHeaderTimeout
		}
	}
	if t.Attempt == 0 && !hasDeadline {
		t.Attempt = DefaultAttemptTimeout
	}
	if t.Idle == 0 {
		t.Idle = DefaultIdleTimeout
	}
	return t
}

// TimeoutError is an attempt cut by one of the Timeouts; Setting names the field of the
// provider's timeouts setting that allows more.
type TimeoutError struct {
	Setting string // "header", "idle" or "attempt"
	After   time.Duration
}

func (e *TimeoutError) Error() string {
	switch e.Setting {
	case "header":
		return fmt.Sprintf("no response headers within %s (timeouts.header)", e.After)
	case "idle":
		return fmt.Sprintf("no data for %s while reading the response (timeouts.idle)", e.After)
	}
	return fmt.Sprintf("attempt took longer than %s (timeouts.attempt)", e.After)
}

// Timeout reports true, as net.Error does for timeouts.
func (e *TimeoutError) Timeout() bool { return true }

// guard enforces the Timeouts of one attempt by cancelling its context with a
// *TimeoutError as the cause.
type guard struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	t       Timeouts
	header  *time.Timer
	attempt *time.Timer
	idle    *time.Timer
}

func newGuard(parent context.Context, t Timeouts) *guard {
	g := &guard{t: t}
	g.ctx, g.cancel = context.WithCancelCause(parent)
	if t.Header > 0 {
		g.header = time.AfterFunc(t.Header, func() { g.cancel(&TimeoutError{Setting: "header", After: t.Header}) })
	}
	if t.Attempt > 0 {
		g.attempt = time.AfterFunc(t.Attempt, func() { g.cancel(&TimeoutError{Setting: "attempt", After: t.Attempt}) })
	}
	return g
}

// headers stops the header timer and starts the idle one.
func (g *guard) headers() {
	if g.header != nil {
		g.header.Stop()
	}
	if g.t.Idle > 0 {
		g.idle = time.AfterFunc(g.t.Idle, func() { g.cancel(&TimeoutError{Setting: "idle", After: g.t.Idle}) })
	}
}

// touch restarts the idle timer after data arrived.
func (g *guard) touch() {
	if g.idle != nil {
		g.idle.Reset(g.t.Idle)
	}
}

func (g *guard) stopTimers() {
	for _, tm := range []*time.Timer{g.header, g.attempt, g.idle} {
		if tm != nil {
			tm.Stop()
		}
	}
}

// done releases the attempt's timers and context.
func (g *guard) done() {
	g.stopTimers()
	g.cancel(nil)
}

// explain returns the guard's *TimeoutError when it cut the attempt, err otherwise.
func (g *guard) explain(err error) error {
	var te *TimeoutError
	if err != nil && errors.As(context.Cause(g.ctx), &te) {
		return te
	}
	return err
}

// guardedBody is a response body under the guard: reads keep the idle timer alive,
// errors caused by a timeout say which, and more than max bytes is an error.
type guardedBody struct {
	rc       io.ReadCloser
	g        *guard
	max      int64
	read     int64
	provider string
	// span is the attempt's span (nil when untraced), ended when the body is closed;
	// status is the answer's HTTP status.
	c      *client
	span   trace.Span
	status int
	failed error
}

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.read >= b.max {
		var probe [1]byte
		n, err := b.rc.Read(probe[:])
		if n > 0 {
			return 0, b.tooLarge()
		}
		return 0, b.result(err)
	}
	if rest := b.max - b.read; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.rc.Read(p)
	b.read += int64(n)
	if n > 0 {
		b.g.touch()
	}
	return n, b.result(err)
}

func (b *guardedBody) result(err error) error {
	if err == io.EOF || err == nil {
		if err == io.EOF {
			b.g.stopTimers()
		}
		return err
	}
	err = b.g.explain(err)
	b.failed = err
	return err
}

// tooLarge ends the attempt and returns the final error for a body over the cap.
func (b *guardedBody) tooLarge() error {
	pe := &providers.Error{Provider: b.provider, Code: "response_too_large",
		Message: fmt.Sprintf("response body is larger than the %s cap; reading stopped there (a runaway stream, or not the API's answer)", sizeText(b.max))}
	b.g.cancel(pe)
	b.failed = pe
	return pe
}

func (b *guardedBody) Close() error {
	b.g.done()
	if b.span != nil {
		b.c.endAttempt(b.span, &b.status, b.failed)
		b.span = nil
	}
	return b.rc.Close()
}

// sizeText renders a byte count in MiB or KiB when it is a whole number of them.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
