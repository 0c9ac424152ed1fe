package openai_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/openai"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func TestRegistered(t *testing.T) {
	info, ok := providers.Default().Lookup("openai")
	if !ok || !info.Serves(providers.TaskGenerate) || !info.Serves(providers.TaskEmbed) || info.Serves(providers.TaskTranslate) {
		t.Fatalf("openai registered as %+v", info)
	}
}

func TestSettingsErrors(t *testing.T) {
	gw := func(kv ...any) map[string]any {
		m := map[string]any{"id": "gw", "account_id": "acct"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name     string
		settings map[string]any
		want     string
	}{
		{"unknown setting", map[string]any{"api_key": "k", "temprature": 1}, "unknown setting temprature"},
		{"key required remotely", map[string]any{"base_url": "https://llm.example.com/v1"}, "api_key is required for llm.example.com"},
		{"key required for openai", map[string]any{}, "api_key is required for api.openai.com"},
		{"bad base_url", map[string]any{"api_key": "k", "base_url": "ftp://x"}, "not an http(s) URL"},
		{"base_url and gateway", map[string]any{"api_key": "k", "base_url": "https://x", "gateway": gw()}, "exclude each other"},
		{"bad max_tokens_field", map[string]any{"api_key": "k", "max_tokens_field": "tokens"}, "max_tokens_field"},
		{"gateway without account", map[string]any{"api_key": "k", "gateway": map[string]any{"id": "gw"}}, "gateway.account_id"},
		{"gateway bad endpoint", map[string]any{"api_key": "k", "gateway": gw("endpoint", "bedrock")}, "gateway.endpoint"},
		{"gateway unknown key", map[string]any{"api_key": "k", "gateway": gw("ttl", "1h")}, "unknown setting gateway.ttl"},
		{"gateway metadata too big", map[string]any{"api_key": "k", "gateway": gw("metadata",
			map[string]any{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6})}, "at most 5"},
		{"gateway metadata object value", map[string]any{"api_key": "k", "gateway": gw("metadata",
			map[string]any{"a": map[string]any{}})}, "gateway.metadata.a"},
		{"gateway bad ttl", map[string]any{"api_key": "k", "gateway": gw("cache_ttl", "soon")}, "cache_ttl"},
		{"api_key not a string", map[string]any{"api_key": 12}, "want a string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := openai.New(providers.Config{Name: "oa", Kind: "openai", Settings: tc.settings})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLocalServerWithoutKey(t *testing.T) {
	emu := wiretest.NewOpenAI(t, wiretest.WithOpenAIKey(""))
	p := newProvider(t, emu, map[string]any{"api_key": nil})
	resp, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "llama3.2", Messages: user("hi")})
	if err != nil || resp.Text != "echo: hi" {
		t.Fatalf("got %q, %v", resp.Text, err)
	}
	if auth := emu.Requests()[0].Header.Get("Authorization"); auth != "" {
		t.Errorf("sent Authorization %q without a key", auth)
	}
	if _, ok := lastBody(t, &emu.Recorder)["max_tokens"]; ok {
		t.Error("max_tokens sent without a max_tokens param")
	}
}

func TestGateway(t *testing.T) {
	cases := []struct {
		name, endpoint, prefix, model string
		wantMax                       string
	}{
		{"openai endpoint", "", "/acct-1/prod/openai", "gpt-4o-mini", "max_completion_tokens"},
		{"compat endpoint", "compat", "/acct-1/prod/compat", "anthropic/claude-sonnet-4-5", "max_tokens"},
		{"workers-ai endpoint", "workers-ai", "/acct-1/prod/workers-ai/v1", "@cf/meta/llama-3.1-8b-instruct", "max_tokens"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu := wiretest.NewOpenAI(t, wiretest.WithOpenAIPrefix(tc.prefix))
			p := newProvider(t, emu, map[string]any{"base_url": nil, "gateway": map[string]any{
				"id": "prod", "account_id": "acct-1", "base_url": emu.Server.URL, "endpoint": tc.endpoint,
				"authorization": "gw-token", "cache_ttl": "1h", "metadata": map[string]any{"team": "ai", "user": 12345}}})
			req := providers.GenerateRequest{Model: tc.model, Messages: user("hi"), Params: map[string]any{"max_tokens": 10},
				Gateway: &providers.GatewayOptions{SkipCache: true, Metadata: map[string]any{"run": "r1"}, RequestTimeout: 1500 * time.Millisecond}}
			if _, err := p.Generate(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			got := emu.Requests()[0]
			if got.Path != tc.prefix+"/chat/completions" {
				t.Errorf("path %s", got.Path)
			}
			want := map[string]string{"Authorization": "Bearer " + emu.Key(), "Cf-Aig-Authorization": "Bearer gw-token",
				"Cf-Aig-Cache-Ttl": "3600", "Cf-Aig-Skip-Cache": "true", "Cf-Aig-Request-Timeout": "1500",
				"Cf-Aig-Metadata": `{"run":"r1","team":"ai","user":12345}`}
			gotH := map[string]string{}
			for k := range want {
				gotH[k] = got.Header.Get(k)
			}
			if diff := cmp.Diff(want, gotH); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			body := lastBody(t, &emu.Recorder)
			if body["model"] != tc.model || body[tc.wantMax] != 10.0 {
				t.Errorf("body model %v, %s %v", body["model"], tc.wantMax, body[tc.wantMax])
			}
		})
	}
}

func TestCompatNeedsProviderModel(t *testing.T) {
	emu := wiretest.NewOpenAI(t, wiretest.WithOpenAIPrefix("/a/g/compat"))
	p := newProvider(t, emu, map[string]any{"base_url": emu.URL()})
	_, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "gpt-4o-mini", Messages: user("hi")})
	if pe := asProviderError(t, err); !strings.Contains(pe.Message, "openai/gpt-4o-mini") || emu.Count() != 0 {
		t.Errorf("error %v after %d requests, want a hint and no request", pe, emu.Count())
	}
	resp, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "openai/gpt-4o-mini", Messages: user("hi")})
	if err != nil || resp.Usage.USD == 0 {
		t.Errorf("compat model: %+v, %v (want a priced answer)", resp.Usage, err)
	}
}
