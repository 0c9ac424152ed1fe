package transport

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aiflow/aiflow/providers"
)

// classifiedBody replaces a non-2xx response body once read: the bytes stay readable and
// the classification travels with the response to the error handler.
type classifiedBody struct {
	*bytes.Reader
	err *providers.Error
}

func (classifiedBody) Close() error { return nil }

// checkRetry is the retryablehttp.CheckRetry: it classifies every non-2xx response and
// retries exactly what the classification calls retryable.
func (c *client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, ctxErr
	}
	if err != nil {
		return retryableConnError(err) && !attemptsSpent(ctx), err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	pe := c.classifyResponse(resp)
	if pe.Retryable && !attemptsSpent(ctx) {
		return true, nil
	}
	return false, pe
}

// attemptsSpent reports whether the caller's policy (providers.WithRetry) allows no
// further attempt of this request.
func attemptsSpent(ctx context.Context) bool {
	p, ok := providers.RetryFrom(ctx)
	if !ok || p.Attempts <= 0 {
		return false
	}
	n, _ := ctx.Value(attemptKey{}).(*int)
	return n != nil && *n >= p.Attempts
}

// classifyResponse reads the body, classifies it and leaves the body readable.
func (c *client) classifyResponse(resp *http.Response) *providers.Error {
	if cb, ok := resp.Body.(classifiedBody); ok {
		return cb.err
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	var pe *providers.Error
	if c.opts.Classify != nil {
		pe = c.opts.Classify(resp, body)
	}
	if pe == nil {
		pe = DefaultClassify(resp, body)
	}
	c.complete(pe, resp, plainText(body))
	if readErr != nil && pe.Err == nil {
		pe.Err = &redactedError{msg: c.redact(readErr.Error()), cause: readErr}
	}
	resp.Body = classifiedBody{Reader: bytes.NewReader(body), err: pe}
	return pe
}

// complete fills what a Classify func may leave out, obeys x-should-retry and redacts. A
// message quoting the body's text (plain, the body as ParseErrorBody renders non-JSON) is
// shortened to maxMessage after redaction, never before: a cut through a secret would leave
// its beginning unredacted.
func (c *client) complete(pe *providers.Error, resp *http.Response, plain string) {
	if pe.Provider == "" {
		pe.Provider = c.opts.Provider
	}
	if pe.Status == 0 {
		pe.Status = resp.StatusCode
	}
	if pe.RetryAfter == 0 {
		pe.RetryAfter, _ = RetryAfter(resp.Header, time.Now())
	}
	switch strings.ToLower(resp.Header.Get("X-Should-Retry")) {
	case "true":
		pe.Retryable = true
	case "false":
		pe.Retryable = false
	}
	if pe.Message == "" {
		pe.Message = http.StatusText(resp.StatusCode)
	}
	quotesBody := plain != "" && strings.Contains(pe.Message, plain)
	pe.Message = c.redact(pe.Message)
	if quotesBody {
		pe.Message = Shorten(pe.Message, maxMessage)
	}
}

// retryableConnError reports whether a transport-level failure is worth another attempt:
// yes for resets, refused connections and timeouts; no for bad URLs, redirect loops,
// invalid headers, certificate failures and impossible rate-limit waits.
func retryableConnError(err error) bool {
	var le *limitError
	if errors.As(err, &le) {
		return false
	}
	var certErr *x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &certErr) || errors.As(err, &hostErr) || errors.As(err, &invalid) {
		return false
	}
	msg := err.Error()
	for _, permanent := range []string{"stopped after", "unsupported protocol scheme",
		"invalid header", "certificate is not trusted", "no Host in request URL"} {
		if strings.Contains(msg, permanent) {
			return false
		}
	}
	return true
}

// backoff is the retryablehttp.Backoff: the server's Retry-After(-Ms) when given, capped
// at max; otherwise min×2^attempt, capped at max, minus up to 25 % jitter.
func (c *client) backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	wait := Backoff(minWait, maxWait, attempt, resp, rand.Float64())
	if c.opts.OnBackoff != nil {
		c.opts.OnBackoff(attempt+1, wait)
	}
	return wait
}

// Backoff computes the wait after the zero-based attempt that got resp (nil after a
// connection error). jitter in [0,1) removes that fraction of a quarter of the
// exponential wait; server advice is used as is, capped at maxWait.
func Backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response, jitter float64) time.Duration {
	if resp != nil {
		if d, ok := RetryAfter(resp.Header, time.Now()); ok && d > 0 {
			return min(d, maxWait)
		}
	}
	wait := maxWait
	if attempt < 32 {
		if d := minWait << attempt; d > 0 && d < maxWait {
			wait = d
		}
	}
	return wait - time.Duration(jitter*0.25*float64(wait))
}

// handleError is the retryablehttp.ErrorHandler, called once retries are over: it returns
// the classified error (never a response) so the body's message is not lost.
func (c *client) handleError(resp *http.Response, err error, attempts int) (*http.Response, error) {
	if resp != nil {
		pe := c.classifyResponse(resp)
		resp.Body.Close()
		return nil, c.withAttempts(pe, attempts)
	}
	var pe *providers.Error
	if errors.As(err, &pe) {
		return nil, pe
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if ctxErr := contextError(err); ctxErr != nil {
			return nil, ctxErr
		}
	}
	return nil, c.withAttempts(c.connError(err), attempts)
}

// connError classifies a failure that produced no response.
func (c *client) connError(err error) *providers.Error {
	var uerr *url.Error
	cause := err
	if errors.As(err, &uerr) {
		cause = uerr.Err
	}
	msg := c.redact(cause.Error())
	return &providers.Error{
		Provider:  c.opts.Provider,
		Message:   msg,
		Retryable: retryableConnError(err),
		Err:       &redactedError{msg: msg, cause: cause},
	}
}

// withAttempts notes the number of attempts in the message when there were retries.
func (c *client) withAttempts(pe *providers.Error, attempts int) *providers.Error {
	if attempts > 1 && !strings.Contains(pe.Message, "attempts)") {
		pe.Message += " (after " + strconv.Itoa(attempts) + " attempts)"
	}
	return pe
}

// contextError returns the bare context error err wraps.
func contextError(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}
