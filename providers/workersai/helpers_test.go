package workersai_test

import (
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
	"github.com/aiflow/aiflow/providers/workersai"
)

const (
	llama = "@cf/meta/llama-3.1-8b-instruct"
	bge   = "@cf/baai/bge-base-en-v1.5"
)

// waits records the provider's backoff decisions.
type waits struct {
	mu   sync.Mutex
	list []time.Duration
}

func (w *waits) hook(_ int, d time.Duration) {
	w.mu.Lock()
	w.list = append(w.list, d)
	w.mu.Unlock()
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.list...)
}

// open builds a provider against the emulator; extra settings override the defaults.
func open(t *testing.T, cf *wiretest.Cloudflare, extra map[string]any, opts ...workersai.Option) *workersai.Provider {
	t.Helper()
	settings := map[string]any{
		"account_id": cf.Account(), "api_token": cf.Token(), "base_url": cf.APIBase(), "rate_limit": "off",
	}
	maps.Copy(settings, extra)
	p, err := workersai.Open(providers.Config{
		Name: "cf", Kind: workersai.Kind, Settings: settings,
		Retry: providers.RetryPolicy{Backoff: time.Millisecond, MaxBackoff: 2 * time.Second},
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func user(text string) []providers.Message { return []providers.Message{{Role: "user", Content: text}} }

// providerError extracts the *providers.Error or fails the test.
func providerError(t *testing.T, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	return pe
}
