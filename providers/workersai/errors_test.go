package workersai_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
	"github.com/aiflow/aiflow/providers/workersai"
)

func TestRetries(t *testing.T) {
	tests := []struct {
		name         string
		faults       []wiretest.Fault
		model        string
		wantAttempts int
		wantErr      *providers.Error // Status, Code, Retryable, Quota compared
		wantInError  string
		minWait      time.Duration // the first backoff must be at least this
	}{
		{name: "429 capacity with Retry-After then success", faults: []wiretest.Fault{wiretest.CFCapacityFault("1")}, wantAttempts: 2, minWait: time.Second},
		{name: "three 503 then success", faults: []wiretest.Fault{{Status: 503, Times: 3, Body: "upstream connect error"}}, wantAttempts: 4},
		{name: "408 timeout then success", faults: []wiretest.Fault{wiretest.CFTimeoutFault()}, wantAttempts: 2},
		{name: "HTML 1015 then success", faults: []wiretest.Fault{wiretest.CFEdgeRateLimitFault("")}, wantAttempts: 2},
		{name: "unknown model fails at once naming it", model: "@cf/meta/llama-9-nope", wantAttempts: 1,
			wantErr: &providers.Error{Status: 400, Code: "5007"}, wantInError: "model @cf/meta/llama-9-nope"},
		{name: "daily quota is final", faults: []wiretest.Fault{wiretest.CFDailyQuotaFault()}, wantAttempts: 1,
			wantErr: &providers.Error{Status: 429, Code: "3036", Quota: true}},
		{name: "4006 quota is final", faults: []wiretest.Fault{wiretest.CFNeuronQuotaFault()}, wantAttempts: 1,
			wantErr: &providers.Error{Status: 429, Code: "4006", Quota: true}},
		{name: "agreement is final with a hint", faults: []wiretest.Fault{wiretest.CFAgreementFault()}, wantAttempts: 1,
			wantErr: &providers.Error{Status: 403, Code: "5016"}, wantInError: `prompt "agree"`},
		{name: "too large is final", faults: []wiretest.Fault{wiretest.CFTooLargeFault()}, wantAttempts: 1,
			wantErr: &providers.Error{Status: 413, Code: "3006"}},
		{name: "persistent capacity gives up retryable", faults: []wiretest.Fault{{Status: 429, Code: "3040", Message: "Capacity", Times: 9}}, wantAttempts: 4,
			wantErr: &providers.Error{Status: 429, Code: "3040", Retryable: true}, wantInError: "after 4 attempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			for _, f := range tt.faults {
				cf.Faults.Add(f)
			}
			var w waits
			p := open(t, cf, nil, workersai.WithBackoffHook(w.hook))
			model := llama
			if tt.model != "" {
				model = tt.model
			}
			got, err := p.Generate(context.Background(), providers.GenerateRequest{Model: model, Messages: user("hi")})
			if n := cf.Count(); n != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", n, tt.wantAttempts)
			}
			if tt.minWait > 0 && (len(w.all()) == 0 || w.all()[0] < tt.minWait) {
				t.Errorf("waits %v, want the first ≥ %s (Retry-After)", w.all(), tt.minWait)
			}
			if tt.wantErr == nil {
				if err != nil || got.Text != "echo: hi" {
					t.Fatalf("got %q, %v", got.Text, err)
				}
				return
			}
			pe := providerError(t, err)
			if diff := cmp.Diff(*tt.wantErr, providers.Error{Status: pe.Status, Code: pe.Code, Retryable: pe.Retryable, Quota: pe.Quota}); diff != "" {
				t.Errorf("error %q (-want +got):\n%s", pe.Error(), diff)
			}
			if pe.Model != model || pe.Provider != "workers-ai" || !strings.Contains(pe.Error(), tt.wantInError) {
				t.Errorf("error %q lacks model, provider or %q", pe.Error(), tt.wantInError)
			}
		})
	}
}

func TestAuthError(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, map[string]any{"api_token": "wrong-token-value"})
	_, err := p.Generate(context.Background(), providers.GenerateRequest{Model: llama, Messages: user("hi")})
	pe := providerError(t, err)
	if pe.Status != 401 || pe.Code != "10000" || pe.Retryable || cf.Count() != 1 || !strings.Contains(pe.Message, "api_token") {
		t.Errorf("error %q status %d code %s retryable %v after %d attempts", pe.Error(), pe.Status, pe.Code, pe.Retryable, cf.Count())
	}
}

func TestContextCancel(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.Faults.Add(wiretest.CFCapacityFault("20"))
	ctx, cancel := context.WithCancel(context.Background())
	p := open(t, cf, map[string]any{}, workersai.WithBackoffHook(func(int, time.Duration) { cancel() }))
	_, err := p.Generate(ctx, providers.GenerateRequest{Model: llama, Messages: user("hi")})
	if err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	const gwSecret = "gw-secret-token-987"
	cf := wiretest.NewCloudflare(t, wiretest.WithCFGatewayAuth(gwSecret))
	var trace bytes.Buffer
	p := open(t, cf, map[string]any{"gateway": map[string]any{"id": "prod", "base_url": cf.GatewayBase(), "authorization": gwSecret}},
		workersai.WithDebug(&trace))
	// The service echoes both secrets back in its error message.
	cf.Faults.Add(wiretest.Fault{Status: 400, Code: "5006", Message: "bad input near " + cf.Token() + " and " + gwSecret})
	_, err := p.Generate(context.Background(), providers.GenerateRequest{Model: llama, Messages: user("hi")})
	if err == nil {
		t.Fatal("want an error")
	}
	ok, err2 := p.Generate(context.Background(), providers.GenerateRequest{Model: llama, Messages: user("hi")})
	if err2 != nil {
		t.Fatal(err2)
	}
	texts := map[string]string{"error": err.Error(), "trace": trace.String(), "meta": strings.Join(metaValues(ok.Meta), " ")}
	for name, text := range texts {
		for _, secret := range []string{cf.Token(), gwSecret} {
			if strings.Contains(text, secret) {
				t.Errorf("%s leaks a secret: %s", name, text)
			}
		}
	}
	if !strings.Contains(err.Error(), "[REDACTED]") || !strings.Contains(trace.String(), "attempt=1") {
		t.Errorf("error %q / trace %q", err.Error(), trace.String())
	}
}

func metaValues(m providers.Meta) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// TestSecretAtTheCutNeverLeaks: error bodies are quoted shortened (300 bytes for an error
// status, 200 for an unreadable 2xx), and the token is redacted before the cut, so a token
// straddling it leaves no beginning behind (issue 11, finding 6).
func TestSecretAtTheCutNeverLeaks(t *testing.T) {
	tests := []struct {
		name   string
		status int
		pad    int
	}{
		{"error status, token across byte 300", 400, 290},
		{"error status, token just before byte 300", 400, 297},
		{"unreadable 2xx, token across byte 200", 200, 190},
		{"unreadable 2xx, token just before byte 200", 200, 197},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			p := open(t, cf, nil)
			cf.Faults.Add(wiretest.Fault{Status: tt.status, Body: strings.Repeat("x", tt.pad) + cf.Token() + " trailing words"})
			_, err := p.Generate(context.Background(), providers.GenerateRequest{Model: llama, Messages: user("hi")})
			if err == nil {
				t.Fatal("want an error")
			}
			if tok := cf.Token(); strings.Contains(err.Error(), tok[:3]) {
				t.Errorf("error leaks the start of the token %q: %s", tok[:3], err)
			}
		})
	}
}
