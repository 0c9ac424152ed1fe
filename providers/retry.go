package providers

import "context"

type retryKey struct{}

// WithRetry bounds the HTTP attempts of provider calls made with ctx. The engine uses it
// when a step sets retry: so that the step's policy governs its calls alone, instead of
// multiplying with the provider client's own retries.
func WithRetry(ctx context.Context, p RetryPolicy) context.Context {
	return context.WithValue(ctx, retryKey{}, p)
}

// RetryFrom returns the policy WithRetry attached to ctx.
func RetryFrom(ctx context.Context) (RetryPolicy, bool) {
	p, ok := ctx.Value(retryKey{}).(RetryPolicy)
	return p, ok
}
