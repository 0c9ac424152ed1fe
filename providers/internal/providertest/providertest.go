// Package providertest holds test helpers and Generator checks shared by the tests of
// the providers built on an official SDK (openai, anthropic) against the wiretest
// emulators.
package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// FastRetry keeps retry waits (Retry-After included) at a millisecond.
var FastRetry = providers.RetryPolicy{Attempts: 4, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}

// Settings overlays extra on defaults, in place, and returns defaults; a nil value in
// extra deletes the key.
func Settings(defaults, extra map[string]any) map[string]any {
	for k, v := range extra {
		if v == nil {
			delete(defaults, k)
			continue
		}
		defaults[k] = v
	}
	return defaults
}

// LastBody decodes the body of the emulator's last recorded request.
func LastBody(t *testing.T, rec *wiretest.Recorder) map[string]any {
	t.Helper()
	reqs := rec.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request recorded")
	}
	var m map[string]any
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// AsProviderError fails the test unless err is a *providers.Error.
func AsProviderError(t *testing.T, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	return pe
}

// User is a conversation of one user message.
func User(text string) []providers.Message {
	return []providers.Message{{Role: "user", Content: text}}
}

// ConcurrentGenerate checks that 16 concurrent Generate calls on g, half of them
// streamed, each get their own answer from an echoing emulator ("echo: " + prompt).
func ConcurrentGenerate(t *testing.T, g providers.Generator) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf("echo: n%d", i)
			req := providers.GenerateRequest{Model: "m", Messages: User(fmt.Sprintf("n%d", i))}
			if i%2 == 0 {
				req.Stream = func(string) {}
			}
			resp, err := g.Generate(context.Background(), req)
			if err == nil && resp.Text != want {
				err = fmt.Errorf("got %q, want %q", resp.Text, want)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
	}
}

// CanceledGenerate checks that Generate with a canceled context, streamed or not,
// fails with a *providers.Error that wraps context.Canceled and is neither retryable
// nor a reason to fall back. Give it a provider whose emulator keeps failing with a
// retryable status, so that only the context can stop it.
func CanceledGenerate(t *testing.T, g providers.Generator) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, stream := range []bool{false, true} {
		req := providers.GenerateRequest{Model: "m", Messages: User("hi")}
		if stream {
			req.Stream = func(string) {}
		}
		_, err := g.Generate(ctx, req)
		if pe := AsProviderError(t, err); !errors.Is(err, context.Canceled) || pe.Retryable || providers.ShouldFallback(err) {
			t.Errorf("stream=%v: error %v, want a non-retryable wrap of context.Canceled", stream, err)
		}
	}
}
