package transport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

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
	if t.c.limiter != nil {
		if err := t.c.wait(req.Context()); err != nil {
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
		return nil, err
	}
	g.headers()
	t.trace(req, resp, err, n, time.Since(start))
	resp.Body = &guardedBody{rc: resp.Body, g: g, max: t.c.opts.MaxBody, provider: t.c.opts.Provider}
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
