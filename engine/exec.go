package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

// Executor runs one step call. The in-process executor calls the step directly; another
// executor (Temporal) may run it elsewhere. A call is a pure function of (step, call):
// the walker keeps no state an executor needs.
type Executor interface {
	Execute(ctx context.Context, step steps.Step, call *steps.Call) (steps.Result, error)
}

// InProcess runs steps in this process, turning panics into errors.
type InProcess struct{}

// Execute runs the step, recovering a panic as an error naming the step.
func (InProcess) Execute(ctx context.Context, step steps.Step, call *steps.Call) (res steps.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("step %q panicked: %v\n%s", call.StepID, r, debug.Stack())
		}
	}()
	return step.Run(ctx, call)
}

// attemptPolicy is a step's timeout and retry settings, resolved with flow defaults.
type attemptPolicy struct {
	attempts int
	backoff  time.Duration
	timeout  time.Duration
	explicit bool // the step or the flow's defaults set retry:
}

// withRetry runs fn up to p.attempts times while it fails with a retryable error, waiting
// an exponential backoff with jitter (or the provider's Retry-After, when longer). The
// returned usage is summed over every attempt, failed ones included: a failed attempt
// may have been billed (fn reports that in its Result.Usage along with the error). The
// attempt count returned is the number made: a non-retryable error stops early.
func withRetry(ctx context.Context, p attemptPolicy, onRetry retryHook, fn func(ctx context.Context) (steps.Result, error)) (steps.Result, int, error) {
	attempts := max(p.attempts, 1)
	var lastErr error
	var paid providers.Usage // by the failed attempts so far
	made := 0
	for a := 1; a <= attempts; a++ {
		made = a
		actx, cancel := ctx, context.CancelFunc(func() {})
		if p.timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, p.timeout)
		}
		res, err := fn(actx)
		// Without a timeout of its own the attempt's context is ctx: it cannot time out apart.
		timedOut := p.timeout > 0 && actx.Err() == context.DeadlineExceeded && ctx.Err() == nil
		cancel()
		if err == nil {
			res.Usage = paid.Add(res.Usage)
			return res, a, nil
		}
		paid = paid.Add(res.Usage)
		if timedOut {
			err = &TimeoutError{After: p.timeout, Err: err}
		}
		lastErr = err
		if a == attempts || ctx.Err() != nil || !retryable(err) {
			break
		}
		wait := backoff(p.backoff, a, err)
		onRetry.retrying(a, err, wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return steps.Result{Usage: paid}, a, lastErr
		case <-t.C:
		}
	}
	return steps.Result{Usage: paid}, made, lastErr
}

// TimeoutError is a step attempt that ran past its timeout.
type TimeoutError struct {
	After time.Duration
	Err   error
}

func (e *TimeoutError) Error() string { return fmt.Sprintf("timed out after %s", e.After) }

// Unwrap returns the cause.
func (e *TimeoutError) Unwrap() error { return e.Err }

func retryable(err error) bool {
	var te *TimeoutError
	if errors.As(err, &te) {
		return true
	}
	var re interface{ Retryable() bool }
	if errors.As(err, &re) {
		return re.Retryable()
	}
	return providers.IsRetryable(err)
}

func backoff(base time.Duration, attempt int, err error) time.Duration {
	if base <= 0 {
		base = time.Second
	}
	d := base << (attempt - 1)
	if d > time.Minute || d <= 0 {
		d = time.Minute
	}
	d -= time.Duration(rand.Int64N(int64(d)/4 + 1)) // up to 25 % jitter
	var pe *providers.Error
	if errors.As(err, &pe) && pe.RetryAfter > d {
		d = min(pe.RetryAfter, time.Minute)
	}
	return d
}
