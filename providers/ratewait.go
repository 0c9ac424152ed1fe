package providers

import (
	"context"
	"time"
)

type rateWaitKey struct{}

// WithRateWait asks the HTTP clients of provider calls made with ctx to call f with the
// wait before an attempt whenever their rate limiter holds it back. The engine uses it to
// show "waiting for rate limit" on the step that is held.
func WithRateWait(ctx context.Context, f func(wait time.Duration)) context.Context {
	return context.WithValue(ctx, rateWaitKey{}, f)
}

// ReportRateWait tells the function WithRateWait attached to ctx, if any, that a call
// waits d for the rate limiter.
func ReportRateWait(ctx context.Context, d time.Duration) {
	if f, ok := ctx.Value(rateWaitKey{}).(func(time.Duration)); ok && f != nil {
		f(d)
	}
}
