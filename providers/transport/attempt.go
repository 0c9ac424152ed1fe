package transport

import (
	"fmt"
	"net/http"
	"time"
)

// attemptTransport performs one attempt: it waits for the rate limiter, sends the request
// on the base transport and writes the debug trace line.
type attemptTransport struct{ c *client }

// limitError marks a rate-limiter wait that cannot succeed (context deadline too close);
// it is never retried.
type limitError struct{ err error }

func (e *limitError) Error() string { return "waiting for rate limit: " + e.err.Error() }
func (e *limitError) Unwrap() error { return e.err }

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	n := attemptNumber(req.Context())
	if t.c.limiter != nil {
		if err := t.c.limiter.Wait(req.Context()); err != nil {
			if ctxErr := req.Context().Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return nil, &limitError{err: err}
		}
	}
	start := time.Now()
	resp, err := t.c.opts.Base.RoundTrip(req)
	t.trace(req, resp, err, n, time.Since(start))
	return resp, err
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
