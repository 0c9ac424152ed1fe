package vectorize_test

import (
	"context"
	"testing"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/vectorize"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func TestSettingsErrors(t *testing.T) {
	tests := []struct {
		name     string
		provider providers.Provider
		settings map[string]any
		want     []string
	}{
		{"nothing", nil, map[string]any{}, []string{"no Cloudflare account", "workers-ai provider", "account_id and api_token"}},
		{"provider without accessor", mute{}, map[string]any{}, []string{`provider of kind "workers-ai" does not lend its Cloudflare account`, "CloudflareCredentials", "set account_id and api_token"}},
		{"provider lending nothing", lender{}, map[string]any{}, []string{"lent an empty account id or API token"}},
		{"token missing", nil, map[string]any{"account_id": "acct"}, []string{"no Cloudflare account"}},
		{"account id with a slash", nil, map[string]any{"account_id": "a/b", "api_token": "t"}, []string{`account_id: "a/b"`}},
		{"account id not a string", nil, map[string]any{"account_id": 7, "api_token": "t"}, []string{"account_id: want a string, got int"}},
		{"base_url not a URL", nil, map[string]any{"account_id": "a", "api_token": "t", "base_url": "ftp://x"}, []string{"base_url"}},
		{"rate_limit", nil, map[string]any{"account_id": "a", "api_token": "t", "rate_limit": "fast"}, []string{"rate_limit: want requests per minute"}},
		{"wait_for_mutation word", nil, map[string]any{"account_id": "a", "api_token": "t", "wait_for_mutation": "soon"}, []string{"wait_for_mutation", `got "soon"`}},
		{"wait_for_mutation negative", nil, map[string]any{"account_id": "a", "api_token": "t", "wait_for_mutation": "-1s"}, []string{"wait_for_mutation: want a positive duration"}},
		{"batch_size zero", nil, map[string]any{"account_id": "a", "api_token": "t", "batch_size": 0}, []string{"batch_size: want an integer from 1 to 5000"}},
		{"batch_size fraction", nil, map[string]any{"account_id": "a", "api_token": "t", "batch_size": 2.5}, []string{"batch_size"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := vectorize.NewBackend(providers.IndexBackendConfig{Provider: tt.provider, Settings: tt.settings})
			wantErr(t, err, append([]string{"vectorize backend: "}, tt.want...)...)
		})
	}
}

func TestSettingsOverrideLentAccount(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	b, err := vectorize.NewBackend(providers.IndexBackendConfig{
		Provider: lender{"wrong-account", "wrong-token", "http://127.0.0.1:1"},
		Settings: settings(cf, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(context.Background(), spec("kb", 2, "cosine", nil, nil), true); err != nil {
		t.Fatalf("settings did not override the lent account: %v", err)
	}
}

func TestWaitForMutationForms(t *testing.T) {
	// Each form is observable: with a lag of two polls, an Upsert that waits polls /info
	// until the lag has passed, and one that does not wait never polls.
	tests := []struct {
		name      string
		value     any
		wantPolls int
	}{
		{"absent", nil, 0},
		{"false", false, 0},
		{"true", true, 2},
		{"duration string", "10s", 2},
		{"seconds", 10, 2},
		{"fractional seconds", 10.5, 2},
		{"time.Duration", 10 * time.Second, 2},
		{"zero string", "0s", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			extra := map[string]any{}
			if tt.value != nil {
				extra["wait_for_mutation"] = tt.value
			}
			x := open(t, newBackend(t, cf, nil), spec("kb", 2, "cosine", nil, extra))
			cf.Vectorize().SetLag(wiretest.VectorizeLag{InfoPolls: 2})
			if _, err := x.Upsert(context.Background(), []providers.Vector{vec("a", []float32{1, 0})}); err != nil {
				t.Fatal(err)
			}
			if got := count(cf, "GET", "/info"); got != tt.wantPolls {
				t.Errorf("/info polls = %d, want %d", got, tt.wantPolls)
			}
		})
	}
}

func TestWithWaitForMutation(t *testing.T) {
	tests := []struct {
		name      string
		setting   any
		wantPolls int
	}{
		{"option applies when settings are silent", nil, 2},
		{"setting false overrides the option", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			extra := map[string]any{}
			if tt.setting != nil {
				extra["wait_for_mutation"] = tt.setting
			}
			b := newBackend(t, cf, nil, vectorize.WithWaitForMutation(10*time.Second))
			x := open(t, b, spec("kb", 2, "cosine", nil, extra))
			cf.Vectorize().SetLag(wiretest.VectorizeLag{InfoPolls: 2})
			if _, err := x.Upsert(context.Background(), []providers.Vector{vec("a", []float32{1, 0})}); err != nil {
				t.Fatal(err)
			}
			if got := count(cf, "GET", "/info"); got != tt.wantPolls {
				t.Errorf("/info polls = %d, want %d", got, tt.wantPolls)
			}
		})
	}
}

func TestSpecSettingsOverrideBackendSettings(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	b := newBackend(t, cf, map[string]any{"wait_for_mutation": true, "batch_size": 1})
	x := open(t, b, spec("kb", 2, "cosine", nil, map[string]any{"wait_for_mutation": false}))
	cf.Vectorize().SetLag(wiretest.VectorizeLag{InfoPolls: 1})
	if _, err := x.Upsert(context.Background(), []providers.Vector{vec("a", []float32{1, 0}), vec("b", []float32{0, 1})}); err != nil {
		t.Fatal(err)
	}
	if polls, batches := count(cf, "GET", "/info"), count(cf, "POST", "/upsert"); polls != 0 || batches != 2 {
		t.Errorf("polls %d, batches %d; want 0 (spec turned waiting off) and 2 (backend batch_size 1)", polls, batches)
	}
}
