package transport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/aiflow/aiflow/internal/telemetry/genai"
	"github.com/aiflow/aiflow/providers"
)

// attemptTransport performs one attempt: it waits for the rate limiter, sends the request
// on the base transport under the attempt's timeouts, caps the response body and writes
// the debug trace line.
type attemptTransport struct{ c *client }

// limitError marks a rate-limiter wait that cannot succeed (context deadline too close);
// it is never retried.
type limitError struct{ err error }

func (e *limitError) Error() string { return "waiting for rate limit: " + e.err.Error() }
func (e *limitError) Unwrap() error { return e.err }

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	n := attemptNumber(req.Context())
	var sp trace.Span // the attempt's span, when the run is traced
	if genai.Traced(req.Context()) {
		req, sp = t.c.startAttempt(req, n)
	}
	if t.c.limiter != nil {
		if err := t.c.wait(req.Context()); err != nil {
			t.c.endAttempt(sp, nil, err)
			return nil, err
		}
	}
	g := newGuard(req.Context(), t.c.opts.Timeouts.effective(req.Context()))
	start := time.Now()
	resp, err := t.c.opts.Base.RoundTrip(req.WithContext(g.ctx))
	if err != nil {
		g.done()
		err = g.explain(err)
		t.trace(req, resp, err, n, time.Since(start))
		t.c.endAttempt(sp, nil, err)
		return nil, err
	}
	g.headers()
	t.trace(req, resp, err, n, time.Since(start))
	if sp != nil {
		sp.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
	}
	resp.Body = &guardedBody{rc: resp.Body, g: g, max: t.c.opts.MaxBody, provider: t.c.opts.Provider, c: t.c, span: sp, status: resp.StatusCode}
	return resp, nil
}

// trace writes one redacted line about an attempt to Options.Debug.
func (t *attemptTransport) trace(req *http.Request, resp *http.Response, err error, n int, d time.Duration) {
	if t.c.opts.Debug == nil {
		return
	}
	outcome := "error=" + fmt.Sprint(err)
	if err == nil {
		outcome = fmt.Sprintf("status=%d", resp.StatusCode)
	}
	line := fmt.Sprintf("%s: %s %s attempt=%d %s duration=%s\n",
		t.c.opts.Provider, req.Method, req.URL.String(), n, outcome, d.Round(time.Microsecond))
	fmt.Fprint(t.c.opts.Debug, t.c.redact(line))
}

// wait blocks until the limiter admits one attempt, like rate.Limiter.Wait, and reports
// the scheduled admission time to Options.OnAdmit and a wait to providers.ReportRateWait.
// It fails at once when the wait would outlast the context's deadline.
func (c *client) wait(ctx context.Context) error {
	now := time.Now()
	r := c.limiter.ReserveN(now, 1)
	if !r.OK() {
		return &limitError{err: errors.New("burst is below one request")}
	}
	delay := r.DelayFrom(now)
	if deadline, ok := ctx.Deadline(); ok && now.Add(delay).After(deadline) {
		r.CancelAt(now)
		return &limitError{err: fmt.Errorf("a %s wait would exceed the context deadline", delay.Round(time.Millisecond))}
	}
	if c.opts.OnAdmit != nil {
		c.opts.OnAdmit(now.Add(delay))
	}
	if delay <= 0 {
		return nil
	}
	providers.ReportRateWait(ctx, delay)
	if sp := trace.SpanFromContext(ctx); sp.IsRecording() {
		ms := delay.Seconds() * 1000
		sp.SetAttributes(genai.RateWaitMS.Float64(ms))
		sp.AddEvent(genai.EventRateWait, trace.WithAttributes(genai.RateWaitMS.Float64(ms)))
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

// startAttempt opens the span of HTTP attempt n of req (a child of the step's or
// item's span in req's context) and returns a copy of req that carries it, with the
// W3C traceparent and tracestate headers set so the provider can join the trace. The
// span has the method, host, path (secrets redacted) and attempt number: never the
// query, header values or credentials.
func (c *client) startAttempt(req *http.Request, n int) (*http.Request, trace.Span) {
	attrs := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(req.Method), semconv.ServerAddress(req.URL.Hostname()),
		semconv.URLPath(c.redact(req.URL.EscapedPath())), genai.Attempt.Int(n), semconv.GenAIProviderNameKey.String(c.opts.Provider)}
	if p, err := strconv.Atoi(req.URL.Port()); err == nil {
		attrs = append(attrs, semconv.ServerPort(p))
	}
	if n > 1 {
		attrs = append(attrs, semconv.HTTPRequestResendCount(n-1))
	}
	ctx, sp := genai.Tracer(req.Context()).Start(req.Context(), "HTTP "+req.Method+" "+c.opts.Provider,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	out := req.Clone(ctx) // a RoundTripper must not change the caller's headers
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(out.Header))
	return out, sp
}

// endAttempt ends an attempt's span: failed with err when there is one, or when the
// answer's status is 4xx or 5xx.
func (c *client) endAttempt(sp trace.Span, status *int, err error) {
	if sp == nil {
		return
	}
	switch {
	case err != nil:
		typ := "_OTHER"
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Code != "" {
			typ = pe.Code
		} else if errors.Is(err, context.DeadlineExceeded) {
			typ = "timeout"
		} else if errors.Is(err, context.Canceled) {
			typ = "cancelled"
		}
		sp.SetAttributes(semconv.ErrorTypeKey.String(typ))
		sp.SetStatus(codes.Error, c.redact(err.Error()))
	case status != nil && *status >= 400:
		sp.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(*status)))
		sp.SetStatus(codes.Error, http.StatusText(*status))
	}
	sp.End()
}
