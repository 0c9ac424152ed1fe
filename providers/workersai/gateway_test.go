package workersai_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestGatewayCacheHit also checks cf-aig-metadata keeps numbers and booleans as JSON
// numbers and booleans: AI Gateway's docs (cloudflare-docs
// content/ai-gateway/configuration/custom-metadata.md) allow string, number and boolean
// values, and the emulator records each value with its JSON type.
func TestGatewayCacheHit(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, map[string]any{"gateway": map[string]any{
		"id": "prod", "base_url": cf.GatewayBase(), "cache_ttl": "1h", "request_timeout": "30s",
		"metadata": map[string]any{"team": "search", "run": 7, "ok": true}}})
	req := providers.GenerateRequest{Model: llama, Messages: user("hi")}
	first, err := p.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := p.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Meta["cf-aig-cache-status"] != "MISS" || second.Meta["cf-aig-cache-status"] != "HIT" || second.Text != "echo: hi" {
		t.Errorf("meta %v then %v, text %q", first.Meta, second.Meta, second.Text)
	}
	if second.Meta["cf-aig-log-id"] == "" || second.Meta["cf-aig-log-id"] == first.Meta["cf-aig-log-id"] || second.Meta["gateway"] != "prod" {
		t.Errorf("log ids %q, %q", first.Meta["cf-aig-log-id"], second.Meta["cf-aig-log-id"])
	}
	if cf.Runs() != 1 {
		t.Errorf("model ran %d times, want 1 (second call served from cache)", cf.Runs())
	}
	wantPath := "/v1/" + cf.Account() + "/prod/workers-ai/@cf/meta/llama-3.1-8b-instruct"
	if got := cf.Requests()[0].Path; got != wantPath {
		t.Errorf("path %s, want %s", got, wantPath)
	}
	gr := cf.GatewayRequests()[0]
	want := wiretest.CFGatewayRequest{Account: cf.Account(), Gateway: "prod", Provider: "workers-ai", Model: llama,
		CacheTTL: time.Hour, RequestTimeout: 30 * time.Second, Metadata: map[string]any{"team": "search", "run": json.Number("7"), "ok": true}, CacheStatus: "MISS", LogID: gr.LogID}
	if diff := cmp.Diff(want, gr); diff != "" {
		t.Errorf("gateway request (-want +got):\n%s", diff)
	}
}

func TestGatewayPerRequestOptions(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, map[string]any{"gateway": map[string]any{"id": "prod", "base_url": cf.GatewayBase(), "cache_ttl": 3600}})
	req := providers.GenerateRequest{Model: llama, Messages: user("hi")}
	if _, err := p.Generate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	req.Gateway = &providers.GatewayOptions{SkipCache: true, Metadata: map[string]any{"step": "summary"}}
	got, err := p.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta["cf-aig-cache-status"] != "MISS" || cf.Runs() != 2 {
		t.Errorf("skip-cache: status %q after %d runs", got.Meta["cf-aig-cache-status"], cf.Runs())
	}
	gr := cf.GatewayRequests()[1]
	if !gr.SkipCache || gr.Metadata["step"] != "summary" || gr.CacheTTL != time.Hour {
		t.Errorf("per-request options not sent: %+v", gr)
	}
	req.Gateway = &providers.GatewayOptions{Metadata: map[string]any{"a": "", "b": "", "c": "", "d": "", "e": "", "f": ""}}
	if _, err := p.Generate(context.Background(), req); err == nil || !strings.Contains(err.Error(), "at most 5") {
		t.Errorf("six metadata entries: err = %v", err)
	}
}

func TestAuthenticatedGateway(t *testing.T) {
	cf := wiretest.NewCloudflare(t, wiretest.WithCFGatewayAuth("gw-token"))
	tests := []struct {
		name     string
		gateway  map[string]any
		wantCode string
	}{
		{"without authorization", map[string]any{"id": "prod", "base_url": cf.GatewayBase()}, "2009"},
		{"with authorization", map[string]any{"id": "prod", "base_url": cf.GatewayBase(), "authorization": "gw-token"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := open(t, cf, map[string]any{"gateway": tt.gateway})
			_, err := p.Generate(context.Background(), providers.GenerateRequest{Model: llama, Messages: user("hi")})
			if tt.wantCode == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			pe := providerError(t, err)
			if pe.Code != tt.wantCode || pe.Status != 401 || pe.Retryable || !strings.Contains(pe.Message, "gateway.authorization") {
				t.Errorf("error %q", pe.Error())
			}
		})
	}
}
