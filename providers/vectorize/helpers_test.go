package vectorize_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/vectorize"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// settings are backend settings pointing at the emulator, with extra overriding them.
func settings(cf *wiretest.Cloudflare, extra map[string]any) map[string]any {
	s := map[string]any{"account_id": cf.Account(), "api_token": cf.Token(), "base_url": cf.APIBase(), "rate_limit": "off"}
	maps.Copy(s, extra)
	return s
}

// newBackend builds a backend against the emulator with fast retries and polls.
func newBackend(t testing.TB, cf *wiretest.Cloudflare, extra map[string]any, opts ...vectorize.Option) *vectorize.Backend {
	t.Helper()
	opts = append([]vectorize.Option{vectorize.WithPollInterval(time.Millisecond)}, opts...)
	b, err := vectorize.NewBackend(providers.IndexBackendConfig{
		Settings: settings(cf, extra),
		Retry:    providers.RetryPolicy{Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// spec is an index spec of dims dimensions with the given metadata indexes.
func spec(name string, dims int, metric string, meta map[string]string, extra map[string]any) providers.IndexSpec {
	return providers.IndexSpec{Name: name, Backend: vectorize.Name, Dimensions: dims, Metric: metric,
		MetadataIndexes: meta, Settings: extra}
}

// open creates (if needed) and opens an index.
func open(t testing.TB, b *vectorize.Backend, s providers.IndexSpec) providers.VectorIndex {
	t.Helper()
	x, err := b.Open(context.Background(), s, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// count returns how many recorded requests were method requests to a path ending in suffix.
func count(cf *wiretest.Cloudflare, method, suffix string) int {
	n := 0
	for _, r := range cf.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}

// vec is a vector with metadata given as key, value pairs.
func vec(id string, values []float32, kv ...any) providers.Vector {
	v := providers.Vector{ID: id, Values: values}
	if len(kv) > 0 {
		v.Metadata = map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Metadata[kv[i].(string)] = kv[i+1]
		}
	}
	return v
}

// unit returns a dims-dimensional vector with 1 at position i (mod dims) and a small
// offset so that distinct i give distinct directions.
func unit(dims, i int) []float32 {
	v := make([]float32, dims)
	v[i%dims] = 1
	v[(i+1)%dims] = float32(i/dims+1) / 100
	return v
}

// ids lists match ids.
func ids(ms []providers.Match) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// providerError extracts the *providers.Error or fails the test.
func providerError(t *testing.T, err error) *providers.Error {
	t.Helper()
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	return pe
}

// wantErr checks that err is non-nil and contains every fragment.
func wantErr(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not contain %q", err, f)
		}
	}
}

// waits records backoff decisions.
type waits struct {
	mu   sync.Mutex
	list []time.Duration
}

func (w *waits) hook(_ int, d time.Duration) {
	w.mu.Lock()
	w.list = append(w.list, d)
	w.mu.Unlock()
}

func (w *waits) n() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.list)
}

// lender is a provider that lends a Cloudflare account, as the workers-ai provider should.
type lender struct{ acct, token, base string }

func (lender) Kind() string { return "workers-ai" }
func (lender) Close() error { return nil }
func (l lender) CloudflareCredentials() (string, string, string) {
	return l.acct, l.token, l.base
}

// mute is a provider that does not lend its account.
type mute struct{}

func (mute) Kind() string { return "workers-ai" }
func (mute) Close() error { return nil }
