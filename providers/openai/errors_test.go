package openai_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func TestGenerateRetries(t *testing.T) {
	retryAfter := http.Header{"Retry-After": {"1"}}
	cases := []struct {
		name      string
		faults    []wiretest.Fault
		attempts  int
		wantErr   bool
		retryable bool
		quota     bool
		code      string
	}{
		{name: "429 rate limit then success", faults: []wiretest.Fault{{Status: 429, Code: "rate_limit_exceeded", Header: retryAfter}}, attempts: 2},
		{name: "3x503 then success", faults: []wiretest.Fault{{Status: 503, Times: 3}}, attempts: 4},
		{name: "503 forever gives up", faults: []wiretest.Fault{{Status: 503, Times: 10}}, attempts: 4, wantErr: true, retryable: true},
		{name: "insufficient quota fails at once", faults: []wiretest.Fault{{Status: 429, Code: "insufficient_quota", Message: "You exceeded your current quota"}},
			attempts: 1, wantErr: true, quota: true, code: "insufficient_quota"},
		{name: "400 fails at once", faults: []wiretest.Fault{{Status: 400, Code: "invalid_value", Message: "bad"}}, attempts: 1, wantErr: true, code: "invalid_value"},
		{name: "401 fails at once", faults: []wiretest.Fault{{Status: 401, Code: "invalid_api_key", Message: "Incorrect API key"}}, attempts: 1, wantErr: true, code: "invalid_api_key"},
		{name: "404 fails at once", faults: []wiretest.Fault{{Status: 404, Code: "model_not_found"}}, attempts: 1, wantErr: true, code: "model_not_found"},
	}
	for _, tc := range cases {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.name, stream), func(t *testing.T) {
				emu := wiretest.NewOpenAI(t)
				for _, f := range tc.faults {
					emu.Add(f)
				}
				p := newProvider(t, emu, nil)
				req := providers.GenerateRequest{Model: "gpt-4o-mini", Messages: user("hi")}
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
				if pe.Retryable != tc.retryable || pe.Quota != tc.quota || (tc.code != "" && pe.Code != tc.code) || pe.Provider != "openai" {
					t.Errorf("error %v: retryable %v quota %v code %q, want %v %v %q", pe, pe.Retryable, pe.Quota, pe.Code, tc.retryable, tc.quota, tc.code)
				}
			})
		}
	}
}

func TestGenerateStreamBroken(t *testing.T) {
	cases := []struct {
		name  string
		fault wiretest.Fault
		code  string
	}{
		{"cut before [DONE]", wiretest.Fault{CutStream: true, Times: 10}, "stream_cut"},
		{"error event", wiretest.Fault{Status: 200, Code: "server_error", Message: "upstream died", Times: 10}, "server_error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu := wiretest.NewOpenAI(t)
			emu.Add(tc.fault)
			p := newProvider(t, emu, nil)
			var deltas []string
			resp, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "m",
				Messages: user("one two three four five six seven"), Stream: func(d string) { deltas = append(deltas, d) }})
			pe := asProviderError(t, err)
			if pe.Code != tc.code || !pe.Retryable {
				t.Errorf("error %v (code %q, retryable %v), want retryable %s", pe, pe.Code, pe.Retryable, tc.code)
			}
			if resp.Text != "" || len(deltas) == 0 {
				t.Errorf("partial text %q returned, %d deltas seen", resp.Text, len(deltas))
			}
		})
	}
}

func TestGenerateCutBody(t *testing.T) {
	emu := wiretest.NewOpenAI(t)
	emu.Add(wiretest.Fault{CutStream: true})
	p := newProvider(t, emu, nil)
	resp, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "m", Messages: user("hi")})
	if pe := asProviderError(t, err); !pe.Retryable || resp.Text != "" {
		t.Errorf("got %q, %v; want a retryable error", resp.Text, pe)
	}
}

func TestSecretsRedacted(t *testing.T) {
	const gwToken = "cf-gw-token-SECRET-77"
	emu := wiretest.NewOpenAI(t, wiretest.WithOpenAIPrefix("/acct/gw/openai"))
	p := newProvider(t, emu, map[string]any{"base_url": nil, "gateway": map[string]any{
		"id": "gw", "account_id": "acct", "base_url": emu.Server.URL, "authorization": gwToken}})
	echoed := fmt.Sprintf(`{"error":{"message":"key %s and token %s are wrong","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, emu.Key(), gwToken)
	emu.Add(wiretest.Fault{Status: 401, Body: echoed})
	emu.Add(wiretest.Fault{Status: 200, Code: "server_error", Message: "stream saw " + emu.Key()})
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

func TestForeignErrorBodies(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"workers ai envelope", `{"success":false,"errors":[{"code":5006,"message":"Type mismatch of '/messages/0/content'"}],"messages":[],"result":null}`, 400, "5006", "Type mismatch"},
		{"gateway 2009", `{"success":false,"result":[],"messages":[],"error":[{"code":2009,"message":"Unauthorized"}],"name":"AiGatewayError","httpCode":401,"internalCode":2009}`, 401, "2009", "Unauthorized"},
		{"html page", `<html><body><h1>502 Bad Gateway</h1></body></html>`, 400, "", "502 Bad Gateway"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu := wiretest.NewOpenAI(t)
			emu.Add(wiretest.Fault{Status: tc.status, Body: tc.body})
			p := newProvider(t, emu, nil)
			_, err := p.Generate(context.Background(), providers.GenerateRequest{Model: "@cf/meta/llama-3.1-8b-instruct", Messages: user("hi")})
			pe := asProviderError(t, err)
			if pe.Status != tc.status || pe.Code != tc.code || !strings.Contains(pe.Message, tc.msg) || pe.Retryable || emu.Count() != 1 {
				t.Errorf("error %v: status %d code %q after %d attempts", pe, pe.Status, pe.Code, emu.Count())
			}
		})
	}
}
