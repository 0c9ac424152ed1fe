package workersai

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
)

func base(extra map[string]any) map[string]any {
	s := map[string]any{"account_id": "acct", "api_token": "tok"}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

func TestSettingsRejected(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		want     string
	}{
		{"missing account_id", map[string]any{"api_token": "t"}, "setting account_id: required"},
		{"missing api_token", map[string]any{"account_id": "a"}, "setting api_token: required"},
		{"account id with a slash", base(map[string]any{"account_id": "a/b"}), "setting account_id"},
		{"unknown key", base(map[string]any{"api_key": "x"}), "setting api_key: unknown"},
		{"base_url not http", base(map[string]any{"base_url": "ftp://x"}), "setting base_url"},
		{"gateway not an object", base(map[string]any{"gateway": "prod"}), "setting gateway: want an object"},
		{"gateway without id", base(map[string]any{"gateway": map[string]any{"cache_ttl": "1h"}}), "setting gateway.id: required"},
		{"gateway unknown key", base(map[string]any{"gateway": map[string]any{"id": "g", "ttl": 1}}), "setting gateway.ttl: unknown"},
		{"gateway ttl below a minute", base(map[string]any{"gateway": map[string]any{"id": "g", "cache_ttl": "10s"}}), "gateway.cache_ttl"},
		{"six metadata entries", base(map[string]any{"gateway": map[string]any{"id": "g", "metadata": map[string]any{"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1}}}), "at most 5"},
		{"provider-wide cache_key", base(map[string]any{"gateway": map[string]any{"id": "g", "cache_key": "k"}}),
			"setting gateway.cache_key: one cf-aig-cache-key for every request would give different prompts the same cached answer"},
		{"nested metadata", base(map[string]any{"gateway": map[string]any{"id": "g", "metadata": map[string]any{"a": map[string]any{}}}}), "gateway.metadata.a"},
		{"rate_limit negative", base(map[string]any{"rate_limit": -5}), "setting rate_limit"},
		{"rate_limit unknown task", base(map[string]any{"rate_limit": map[string]any{"dance": 5}}), "rate_limit.dance: unknown task"},
		{"max_tokens fractional", base(map[string]any{"max_tokens": 1.5}), "setting max_tokens"},
		{"timeouts not positive", base(map[string]any{"timeouts": map[string]any{"idle": "0s"}}), "setting timeouts.idle: want a positive duration such as 30s, got 0s"},
		{"timeouts unknown key", base(map[string]any{"timeouts": map[string]any{"total": "1m"}}), "setting timeouts.total: unknown (known: header, idle, attempt)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(providers.Config{Settings: tt.settings})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestSettingsDecoded(t *testing.T) {
	c, err := parseSettings(base(map[string]any{
		"gateway": map[string]any{"id": "prod", "cache_ttl": 3600, "skip_cache": true, "request_timeout": "2s",
			"authorization": "Bearer gw", "metadata": map[string]any{"team": "ai", "n": 3, "ok": true}, "max_attempts": 2},
		"rate_limit": map[string]any{"generate": 600, "burst": 4}, "max_tokens": 512,
	}))
	if err != nil {
		t.Fatal(err)
	}
	wantGW := &gatewayConfig{id: "prod", baseURL: DefaultGatewayBaseURL, auth: "gw", opts: providers.GatewayOptions{
		CacheTTL: time.Hour, SkipCache: true, RequestTimeout: 2 * time.Second, MaxAttempts: 2,
		Metadata: map[string]any{"team": "ai", "n": 3, "ok": true}}}
	if diff := cmp.Diff(wantGW, c.gateway, cmp.AllowUnexported(gatewayConfig{})); diff != "" {
		t.Errorf("gateway (-want +got):\n%s", diff)
	}
	if c.baseURL != DefaultBaseURL || c.maxTokens != 512 || c.rateLimit.perTask[providers.TaskGenerate] != 600 || c.rateLimit.burst != 4 {
		t.Errorf("config %+v", c)
	}
}

func TestBuckets(t *testing.T) {
	tests := []struct {
		name      string
		rateLimit any
		task      providers.Task
		model     string
		wantKey   string
		wantRPM   float64
	}{
		{"catalogue generate", nil, providers.TaskGenerate, "@cf/meta/llama-3.1-8b-instruct", "generate", 300},
		{"catalogue embed", nil, providers.TaskEmbed, "@cf/baai/bge-base-en-v1.5", "embed", 3000},
		{"catalogue bge-large has its own", nil, providers.TaskEmbed, "@cf/baai/bge-large-en-v1.5", "embed @cf/baai/bge-large-en-v1.5", 1500},
		{"catalogue translate", nil, providers.TaskTranslate, "@cf/meta/m2m100-1.2b", "translate", 720},
		{"override all tasks", 6000, providers.TaskClassify, "x", "classify", 6000},
		{"override one task", map[string]any{"embed": 100}, providers.TaskEmbed, "@cf/baai/bge-large-en-v1.5", "embed", 100},
		{"override other task keeps catalogue", map[string]any{"embed": 100}, providers.TaskSummarize, "x", "summarize", 1500},
		{"off", "off", providers.TaskGenerate, "x", "off", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base(nil)
			if tt.rateLimit != nil {
				s["rate_limit"] = tt.rateLimit
			}
			p, err := Open(providers.Config{Settings: s})
			if err != nil {
				t.Fatal(err)
			}
			key, rpm := p.bucket(tt.task, tt.model)
			if key != tt.wantKey || rpm != tt.wantRPM {
				t.Errorf("bucket = %q, %v; want %q, %v", key, rpm, tt.wantKey, tt.wantRPM)
			}
			if p.client(tt.task, tt.model) != p.client(tt.task, tt.model) {
				t.Error("one bucket, two clients: the limiter would not be shared")
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	info, ok := providers.Default().Lookup(Kind)
	if !ok || !info.Serves(providers.TaskEmbed) {
		t.Fatalf("workers-ai not registered: %+v", info)
	}
	p, err := info.New(providers.Config{Settings: base(nil)})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range info.Tasks {
		if !providers.Serves(p, task) {
			t.Errorf("declares %s but does not implement it", task)
		}
	}
	if p.(providers.Limiter).Limits().Concurrency != DefaultConcurrency {
		t.Error("no concurrency declared")
	}
	var secrets []string
	for _, f := range info.Settings {
		if f.Secret {
			secrets = append(secrets, f.Name)
		}
	}
	if diff := cmp.Diff([]string{"api_token"}, secrets); diff != "" {
		t.Errorf("secret settings (-want +got):\n%s", diff)
	}
}
