package anthropic_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/anthropic"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func TestGenerateRetries(t *testing.T) {
	cases := []struct {
		name      string
		faults    []wiretest.Fault
		attempts  int
		wantErr   bool
		retryable bool
		quota     bool
		code      string
		status    int
	}{
		{name: "429 with retry-after then success", faults: []wiretest.Fault{{Status: 429, Header: http.Header{"Retry-After": {"1"}}}}, attempts: 2},
		{name: "529 overloaded then success", faults: []wiretest.Fault{{Status: 529, Times: 2}}, attempts: 3},
		{name: "3x503 then success", faults: []wiretest.Fault{{Status: 503, Times: 3}}, attempts: 4},
		{name: "529 forever gives up", faults: []wiretest.Fault{{Status: 529, Times: 9}}, attempts: 4, wantErr: true, retryable: true, code: "overloaded_error", status: 529},
		{name: "400 fails at once", faults: []wiretest.Fault{{Status: 400, Message: "bad"}}, attempts: 1, wantErr: true, code: "invalid_request_error", status: 400},
		{name: "401 fails at once", faults: []wiretest.Fault{{Status: 401}}, attempts: 1, wantErr: true, code: "authentication_error", status: 401},
		{name: "403 fails at once", faults: []wiretest.Fault{{Status: 403}}, attempts: 1, wantErr: true, code: "permission_error", status: 403},
		{name: "404 fails at once", faults: []wiretest.Fault{{Status: 404}}, attempts: 1, wantErr: true, code: "not_found_error", status: 404},
		{name: "402 billing is quota", faults: []wiretest.Fault{{Status: 402}}, attempts: 1, wantErr: true, quota: true, code: "billing_error", status: 402},
	}
	for _, tc := range cases {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.name, stream), func(t *testing.T) {
				emu := wiretest.NewAnthropic(t)
				for _, f := range tc.faults {
					emu.Add(f)
				}
				p := newProvider(t, emu, nil)
				req := providers.GenerateRequest{Model: "claude-sonnet-4-5", Messages: user("hi")}
				if stream {
					req.Stream = func(string) {}
				}
				resp, err := p.Generate(context.Background(), req)
				if got := emu.Count(); got != tc.attempts {
					t.Errorf("%d attempts, want %d", got, tc.attempts)
				}
				if !tc.wantErr {
					if err != nil || resp.Text != "echo: hi" {
						t.Fatalf("got %q, %v", resp.Text, err)
					}
					return
				}
				pe := asProviderError(t, err)
				got := []any{pe.Retryable, pe.Quota, pe.Code, pe.Status, pe.Provider}
				if diff := cmp.Diff([]any{tc.retryable, tc.quota, tc.code, tc.status, "anthropic"}, got); diff != "" {
					t.Errorf("error %v (-want +got):\n%s", pe, diff)
				}
			})
		}
	}
}

func TestRetryAfterAdvice(t *testing.T) {
	emu := wiretest.NewAnthropic(t)
	emu.Add(wiretest.Fault{Status: 429, Times: 9, Header: http.Header{"Retry-After": {"7"}}})
	p := newProvider(t, emu, nil)
	_, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "m", Messages: user("hi")})
	if pe := asProviderError(t, err); pe.RetryAfter != 7*time.Second || pe.Code != "rate_limit_error" || !pe.Retryable {
		t.Errorf("error %v: retry after %s, code %q", pe, pe.RetryAfter, pe.Code)
	}
}

func TestGenerateStreamBroken(t *testing.T) {
	cases := []struct {
		name      string
		fault     wiretest.Fault
		code      string
		retryable bool
	}{
		{"cut before message_stop", wiretest.Fault{CutStream: true, Times: 9}, "stream_cut", true},
		{"overloaded error event", wiretest.Fault{Status: 200, Code: "overloaded_error", Times: 9}, "overloaded_error", true},
		{"invalid request error event", wiretest.Fault{Status: 200, Code: "invalid_request_error", Message: "nope", Times: 9}, "invalid_request_error", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu := wiretest.NewAnthropic(t)
			emu.Add(tc.fault)
			p := newProvider(t, emu, nil)
			var deltas []string
			resp, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "m",
				Messages: user("one two three four five six seven eight"), Stream: func(d string) { deltas = append(deltas, d) }})
			pe := asProviderError(t, err)
			if pe.Code != tc.code || pe.Retryable != tc.retryable {
				t.Errorf("error %v (code %q, retryable %v), want %s retryable=%v", pe, pe.Code, pe.Retryable, tc.code, tc.retryable)
			}
			if resp.Text != "" || len(deltas) == 0 {
				t.Errorf("partial text %q returned, %d deltas seen", resp.Text, len(deltas))
			}
		})
	}
}

func TestGenerateCutBody(t *testing.T) {
	emu := wiretest.NewAnthropic(t)
	emu.Add(wiretest.Fault{CutStream: true})
	p := newProvider(t, emu, nil)
	resp, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "m", Messages: user("hi")})
	if pe := asProviderError(t, err); !pe.Retryable || resp.Text != "" {
		t.Errorf("got %q, %v; want a retryable error", resp.Text, pe)
	}
}

func TestSecretsRedacted(t *testing.T) {
	const gwToken = "cf-gw-token-SECRET-42"
	emu := wiretest.NewAnthropic(t, wiretest.WithAnthropicPrefix("/acct/gw/anthropic"))
	p := newProvider(t, emu, map[string]any{"base_url": nil, "gateway": map[string]any{
		"id": "gw", "account_id": "acct", "base_url": emu.Server.URL, "authorization": gwToken}})
	emu.Add(wiretest.Fault{Status: 401, Body: fmt.Sprintf(`{"type":"error","error":{"type":"authentication_error","message":"key %s / %s"}}`, emu.Key(), gwToken)})
	emu.Add(wiretest.Fault{Status: 200, Code: "api_error", Message: "stream saw " + emu.Key()})
	for _, stream := range []bool{false, true} {
		req := providers.GenerateRequest{Model: "m", Messages: user("hi")}
		if stream {
			req.Stream = func(string) {}
		}
		_, err := p.Generate(context.Background(), req)
		if err == nil {
			t.Fatal("want an error")
		}
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			if strings.Contains(text, emu.Key()) || strings.Contains(text, gwToken) {
				t.Errorf("secret in error output: %s", text)
			}
		}
		if !strings.Contains(err.Error(), "[REDACTED]") {
			t.Errorf("error %q should show where the secret was", err)
		}
	}
}

func TestGateway(t *testing.T) {
	emu := wiretest.NewAnthropic(t, wiretest.WithAnthropicPrefix("/acct-1/prod/anthropic"))
	p := newProvider(t, emu, map[string]any{"base_url": nil, "gateway": map[string]any{
		"id": "prod", "account_id": "acct-1", "base_url": emu.Server.URL, "authorization": "Bearer gw-token",
		"cache_ttl": 600, "metadata": map[string]any{"team": "ai"}}})
	req := providers.GenerateRequest{Model: "claude-sonnet-4-5", Messages: user("hi"),
		Gateway: &providers.GatewayOptions{CacheKey: "k1", MaxAttempts: 2}}
	if _, err := p.Generate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	got := emu.Requests()[0]
	if got.Path != "/acct-1/prod/anthropic/v1/messages" {
		t.Errorf("path %s", got.Path)
	}
	want := map[string]string{"X-Api-Key": emu.Key(), "Anthropic-Version": "2023-06-01", "Cf-Aig-Authorization": "Bearer gw-token",
		"Cf-Aig-Cache-Ttl": "600", "Cf-Aig-Cache-Key": "k1", "Cf-Aig-Max-Attempts": "2", "Cf-Aig-Metadata": `{"team":"ai"}`}
	gotH := map[string]string{}
	for k := range want {
		gotH[k] = got.Header.Get(k)
	}
	if diff := cmp.Diff(want, gotH); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
}

func TestSettingsErrors(t *testing.T) {
	cases := []struct {
		name     string
		settings map[string]any
		want     string
	}{
		{"no key", map[string]any{}, "api_key is required"},
		{"unknown", map[string]any{"api_key": "k", "model": "x"}, "unknown setting model"},
		{"base_url and gateway", map[string]any{"api_key": "k", "base_url": "https://x", "gateway": map[string]any{"id": "g", "account_id": "a"}}, "exclude each other"},
		{"gateway without id", map[string]any{"api_key": "k", "gateway": map[string]any{"account_id": "a"}}, "gateway.id"},
		{"bad max_tokens", map[string]any{"api_key": "k", "max_tokens": "many"}, "max_tokens"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := anthropic.New(providers.Config{Name: "c", Kind: "anthropic", Settings: tc.settings})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := anthropic.New(providers.Config{Kind: "anthropic", Settings: map[string]any{
		"gateway": map[string]any{"id": "g", "account_id": "a", "authorization": "t"}}}); err != nil {
		t.Errorf("authenticated gateway without api_key: %v", err)
	}
}

func TestRegistered(t *testing.T) {
	info, ok := providers.Default().Lookup("anthropic")
	if !ok || !info.Serves(providers.TaskGenerate) || info.Serves(providers.TaskEmbed) {
		t.Fatalf("anthropic registered as %+v", info)
	}
	p := newProvider(t, wiretest.NewAnthropic(t), nil)
	if providers.Serves(p, providers.TaskEmbed) {
		t.Error("anthropic must not implement Embedder")
	}
}

func BenchmarkGenerateStream(b *testing.B) {
	long := strings.Repeat("word ", 500)
	emu := wiretest.NewAnthropic(b, wiretest.WithAnthropicScript(func(wiretest.ChatPrompt) wiretest.ChatTurn {
		return wiretest.ChatTurn{Text: long}
	}))
	p, err := anthropic.New(providers.Config{Kind: "anthropic", Settings: map[string]any{"api_key": emu.Key(), "base_url": emu.URL()}})
	if err != nil {
		b.Fatal(err)
	}
	g := p.(providers.Generator)
	for b.Loop() {
		if _, err := g.Generate(context.Background(), providers.GenerateRequest{Model: "m", Messages: user("x"), Stream: func(string) {}}); err != nil {
			b.Fatal(err)
		}
	}
}
