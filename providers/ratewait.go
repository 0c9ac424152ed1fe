package providers

import (
	"context"
	"time"
)

// RateWaitKey is the context key ReportRateWait looks up: the value is a
// func(time.Duration) (WithRateWait) or a RateWaiter. A context type of its own may
// answer it directly: the engine keeps one inside each call's own allocation, where a
// context.WithValue and a closure were two allocations of every call.
type RateWaitKey struct{}

// RateWaiter is told of the waits before a call's attempts, like WithRateWait's f.
type RateWaiter interface {
	RateWait(wait time.Duration)
}

// WithRateWait asks the HTTP clients of provider calls made with ctx to call f with the
// wait before an attempt whenever their rate limiter holds it back. The engine uses it to
// show "waiting for rate limit" on the step that is held.
func WithRateWait(ctx context.Context, f func(wait time.Duration)) context.Context {
	return context.WithValue(ctx, RateWaitKey{}, f)
}

// ReportRateWait tells the function WithRateWait attached to ctx (or the RateWaiter
// under RateWaitKey), if any, that a call waits d for the rate limiter.
func ReportRateWait(ctx context.Context, d time.Duration) {
	switch f := ctx.Value(RateWaitKey{}).(type) {
	case func(time.Duration):
		if f != nil {
			f(d)
		}
	case RateWaiter:
		if f != nil {
			f.RateWait(d)
		}
	}
}
