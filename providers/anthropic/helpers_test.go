package anthropic_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/anthropic"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// fastRetry keeps retry waits (Retry-After included) at a millisecond.
var fastRetry = providers.RetryPolicy{Attempts: 4, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}

// newProvider builds an anthropic provider against the emulator, with extra settings
// (a nil value deletes a default one).
func newProvider(t *testing.T, emu *wiretest.Anthropic, extra map[string]any) *anthropic.Provider {
	t.Helper()
	settings := map[string]any{"api_key": emu.Key(), "base_url": emu.URL()}
	for k, v := range extra {
		if v == nil {
			delete(settings, k)
			continue
		}
		settings[k] = v
	}
	p, err := anthropic.New(providers.Config{Name: "claude", Kind: anthropic.Kind, Settings: settings, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.(*anthropic.Provider)
}

// lastBody decodes the body of the emulator's last recorded request.
func lastBody(t *testing.T, rec *wiretest.Recorder) map[string]any {
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

func asProviderError(t *testing.T, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	return pe
}

func user(text string) []providers.Message {
	return []providers.Message{{Role: "user", Content: text}}
}
