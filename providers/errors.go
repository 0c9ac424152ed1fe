package providers

import (
	"errors"
	"fmt"
	"time"
)

// Error is a classified provider failure. The engine uses Retryable to decide on route
// fallback and step retries; the CLI prints Error().
type Error struct {
	Provider   string        // provider kind, e.g. "workers-ai"
	Model      string        // model id, when known
	Status     int           // HTTP status, 0 if none
	Code       string        // provider error code ("3040", "rate_limit_error", …)
	Message    string        // provider's message, secrets redacted
	Retryable  bool          // worth another attempt (429 capacity, 5xx, cut stream…)
	Quota      bool          // quota or budget exhausted: do not retry, do fall back
	RetryAfter time.Duration // server-advised wait, if any
	Err        error         // underlying cause
}

func (e *Error) Error() string {
	msg := e.Provider
	if e.Model != "" {
		msg += " model " + e.Model
	}
	if e.Status != 0 {
		msg += fmt.Sprintf(": HTTP %d", e.Status)
	}
	if e.Code != "" {
		msg += " (code " + e.Code + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	} else if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// IsRetryable reports whether err (or an error it wraps) is a retryable provider error.
func IsRetryable(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Retryable
}

// ShouldFallback reports whether a route may move to its next model after err:
// retryable failures and quota exhaustion qualify; bad requests do not.
func ShouldFallback(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && (pe.Retryable || pe.Quota)
}
