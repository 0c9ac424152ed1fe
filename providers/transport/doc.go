// Package transport builds the HTTP client every remote provider shares: retries with
// jittered exponential backoff on top of hashicorp/go-retryablehttp, Retry-After honoured
// but capped, a token-bucket rate limit applied before every attempt, classification of
// every final non-2xx answer into a *providers.Error that keeps the body's message, and
// redaction of secrets from errors and debug traces.
//
// A client returned by New is safe for concurrent use; its limiter is shared by all
// requests made through it.
package transport
