package aigateway

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func newAdmin(t *testing.T) (providers.GatewayAdmin, *wiretest.Cloudflare) {
	t.Helper()
	cf := wiretest.NewCloudflare(t)
	a, err := New(providers.GatewayAdminConfig{Account: providers.CloudflareAccount{ID: cf.Account(), Token: cf.Token(), BaseURL: cf.APIBase()},
		HTTPClient: cf.Server.Client(), Retry: providers.RetryPolicy{Attempts: 2, Backoff: 1, MaxBackoff: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return a, cf
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	a, cf := newAdmin(t)
	tests := []struct {
		name string
		set  providers.GatewaySettings
		raw  map[string]any // fields the emulator holds afterwards
	}{
		{"everything on", providers.GatewaySettings{ID: "prod", CacheTTL: 3600, Logging: true,
			RateLimit: &providers.GatewayRateLimit{Limit: 100, Interval: 60, Technique: "sliding"}},
			map[string]any{"cache_ttl": 3600.0, "collect_logs": true, "rate_limiting_limit": 100.0, "rate_limiting_interval": 60.0, "rate_limiting_technique": "sliding"}},
		{"everything off", providers.GatewaySettings{ID: "prod"},
			map[string]any{"cache_ttl": nil, "collect_logs": false, "rate_limiting_limit": nil, "rate_limiting_interval": nil, "rate_limiting_technique": "fixed"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if i == 0 {
				err = a.Create(ctx, tt.set)
			} else {
				err = a.Update(ctx, tt.set)
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := a.Get(ctx, "prod")
			if err != nil || !ok {
				t.Fatalf("Get = %v, %v", ok, err)
			}
			if diff := cmp.Diff(tt.set, got); diff != "" {
				t.Errorf("Get (-want +got):\n%s", diff)
			}
			raw, _ := cf.Gateways().Get("prod")
			for k, v := range tt.raw {
				if raw[k] != v {
					t.Errorf("emulator %s = %v, want %v", k, raw[k], v)
				}
			}
		})
	}
	if err := a.Delete(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := a.Get(ctx, "prod"); ok || err != nil {
		t.Errorf("Get after delete = %v, %v", ok, err)
	}
	if err := a.Delete(ctx, "prod"); err != nil {
		t.Errorf("deleting a missing gateway: %v", err)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	a, cf := newAdmin(t)
	if err := a.Create(ctx, providers.GatewaySettings{ID: "prod"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Create(ctx, providers.GatewaySettings{ID: "prod"}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate: %v", err)
	}
	if err := a.Update(ctx, providers.GatewaySettings{ID: "nope"}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("update of a missing gateway: %v", err)
	}
	cf.Faults.Add(wiretest.Fault{Status: 503, Body: "upstream reset"})
	if _, ok, err := a.Get(ctx, "prod"); !ok || err != nil {
		t.Errorf("Get after one 503 = %v, %v (want a retry)", ok, err)
	}
	if _, err := New(providers.GatewayAdminConfig{}); err == nil {
		t.Error("New without an account succeeded")
	}
}
