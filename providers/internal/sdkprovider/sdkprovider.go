// Package sdkprovider holds what the providers built on an official SDK (openai,
// anthropic) share around their API calls: the retrying client they hand the SDK,
// the facts kept from response headers, the first step of turning an SDK failure into
// a *providers.Error, and the shortening of model output quoted in errors.
package sdkprovider

import (
	"errors"
	"net/http"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

// NewClient returns the shared retrying transport (transport.New) for one provider
// entry: retries and debug traces from c, c.HTTPClient's transport (when given)
// underneath, classify for non-2xx answers, secrets redacted from every error and the
// entry's timeouts setting bounding every attempt.
func NewClient(kind string, c providers.Config, classify func(*http.Response, []byte) *providers.Error, secrets []string,
	timeouts transport.Timeouts) *http.Client {
	var base http.RoundTripper
	if c.HTTPClient != nil {
		base = c.HTTPClient.Transport
	}
	return transport.New(transport.Options{
		Provider: kind, Retry: c.Retry, Classify: classify, Secrets: secrets, Base: base, Debug: c.Debug, Timeouts: timeouts,
	})
}

// Known returns the *providers.Error inside err, with its Model set to model when it
// has none, and true; the transport's errors are already classified. It returns false
// when err holds none.
func Known(err error, model string) (*providers.Error, bool) {
	var pe *providers.Error
	if !errors.As(err, &pe) {
		return nil, false
	}
	if pe.Model == "" {
		pe.Model = model
	}
	return pe, true
}

// ResponseMeta keeps model (when set) and the given response headers that are present.
// resp may be nil.
func ResponseMeta(resp *http.Response, model string, headers []string) providers.Meta {
	meta := providers.Meta{}
	if model != "" {
		meta["model"] = model
	}
	if resp == nil {
		return meta
	}
	for _, h := range headers {
		if v := resp.Header.Get(h); v != "" {
			meta[h] = v
		}
	}
	return meta
}

// Shorten cuts s to at most 200 bytes, on a rune boundary, marking the cut with "…",
// so that model output quoted in an error stays readable.
func Shorten(s string) string { return transport.Shorten(s, 200) }
