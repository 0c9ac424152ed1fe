package transport_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

// endpoint is a provider key like openai's: defaulted, upper-cased, "bad" rejected.
var endpoint = transport.GatewayKey{Name: "endpoint", Check: func(s string) (string, error) {
	switch s {
	case "":
		return "DEFAULT", nil
	case "bad":
		return "", errors.New("setting gateway.endpoint: bad")
	}
	return strings.ToUpper(s), nil
}}

func gw(kv ...any) map[string]any {
	m := map[string]any{"id": "prod", "account_id": "acct"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestParseGateway(t *testing.T) {
	cases := []struct {
		name  string
		raw   any
		extra []transport.GatewayKey
		want  *transport.GatewaySettings
	}{
		{"nil is no gateway", nil, nil, nil},
		{"defaults", gw(), nil, &transport.GatewaySettings{ID: "prod", AccountID: "acct",
			BaseURL: transport.DefaultGatewayBaseURL}},
		{"every key", gw("base_url", "http://127.0.0.1:9/v1", "authorization", "Bearer tok", "cache_ttl", "1h",
			"skip_cache", true, "request_timeout", "1500ms", "max_attempts", 3,
			"metadata", map[string]any{"team": "ai", "user": 12345, "ratio": 0.5, "on": false}), nil,
			&transport.GatewaySettings{ID: "prod", AccountID: "acct", BaseURL: "http://127.0.0.1:9/v1", Auth: "tok",
				Options: providers.GatewayOptions{CacheTTL: time.Hour, SkipCache: true,
					RequestTimeout: 1500 * time.Millisecond, MaxAttempts: 3,
					Metadata: map[string]any{"team": "ai", "user": 12345.0, "ratio": 0.5, "on": false}}}},
		{"numbers: cache_ttl in seconds, request_timeout in milliseconds", gw("cache_ttl", 90, "request_timeout", 1500, "max_attempts", 2.0), nil,
			&transport.GatewaySettings{ID: "prod", AccountID: "acct", BaseURL: transport.DefaultGatewayBaseURL,
				Options: providers.GatewayOptions{CacheTTL: 90 * time.Second, RequestTimeout: 1500 * time.Millisecond, MaxAttempts: 2}}},
		{"token without Bearer kept", gw("authorization", "tok"), nil, &transport.GatewaySettings{ID: "prod",
			AccountID: "acct", BaseURL: transport.DefaultGatewayBaseURL, Auth: "tok"}},
		{"extra key unset goes through Check", gw(), []transport.GatewayKey{endpoint}, &transport.GatewaySettings{
			ID: "prod", AccountID: "acct", BaseURL: transport.DefaultGatewayBaseURL, Extra: map[string]string{"endpoint": "DEFAULT"}}},
		{"extra key normalised", gw("endpoint", "compat"), []transport.GatewayKey{endpoint}, &transport.GatewaySettings{
			ID: "prod", AccountID: "acct", BaseURL: transport.DefaultGatewayBaseURL, Extra: map[string]string{"endpoint": "COMPAT"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := transport.ParseGateway(tc.raw, tc.extra...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseGatewayErrors(t *testing.T) {
	known := "id, account_id, base_url, authorization, cache_ttl, skip_cache, cache_key, metadata, request_timeout, max_attempts"
	cases := []struct {
		name  string
		raw   any
		extra []transport.GatewayKey
		want  string
	}{
		{"not an object", "prod", nil, "setting gateway: want an object with id and account_id, got string"},
		{"unknown keys", gw("ttl", "1h", "cache", true), nil, "unknown setting gateway.cache, gateway.ttl (known: " + known + ")"},
		{"extra key listed after base_url", gw("ttl", "1h"), []transport.GatewayKey{endpoint},
			"unknown setting gateway.ttl (known: id, account_id, base_url, endpoint, authorization, cache_ttl, skip_cache, cache_key, metadata, request_timeout, max_attempts)"},
		{"extra key unknown without it", gw("endpoint", "compat"), nil, "unknown setting gateway.endpoint (known: " + known + ")"},
		{"id missing", map[string]any{"account_id": "acct"}, nil,
			`setting gateway.id: "" is not a gateway name (1 to 64 characters, no slashes or spaces)`},
		{"id with a slash", gw("id", "a/b"), nil,
			`setting gateway.id: "a/b" is not a gateway name (1 to 64 characters, no slashes or spaces)`},
		{"id too long", gw("id", strings.Repeat("g", 65)), nil,
			`setting gateway.id: "` + strings.Repeat("g", 65) + `" is not a gateway name (1 to 64 characters, no slashes or spaces)`},
		{"account missing", map[string]any{"id": "prod"}, nil, "setting gateway.account_id: required, and must be a Cloudflare account id"},
		{"account with a hash", gw("account_id", "a#b"), nil, "setting gateway.account_id: required, and must be a Cloudflare account id"},
		{"id not a string", gw("id", 7), nil, "gateway: setting id: want a string, got int"},
		{"extra type checked before authorization", gw("endpoint", 1, "authorization", 2), []transport.GatewayKey{endpoint},
			"gateway: setting endpoint: want a string, got int"},
		{"id checked before extra value", gw("id", "", "endpoint", "bad"), []transport.GatewayKey{endpoint},
			`setting gateway.id: "" is not a gateway name (1 to 64 characters, no slashes or spaces)`},
		{"extra value checked before options", gw("endpoint", "bad", "cache_ttl", "soon"), []transport.GatewayKey{endpoint},
			"setting gateway.endpoint: bad"},
		{"bad cache_ttl", gw("cache_ttl", "soon"), nil, `gateway: setting cache_ttl: time: invalid duration "soon"`},
		{"bad request_timeout", gw("request_timeout", true), nil,
			`gateway: setting request_timeout: want a duration like "1h" or seconds, got bool`},
		{"bad skip_cache", gw("skip_cache", "yes"), nil, "gateway: setting skip_cache: want true or false, got string"},
		{"fractional max_attempts", gw("max_attempts", 1.5), nil, "gateway: setting max_attempts: want an integer, got 1.5"},
		{"metadata not an object", gw("metadata", "team=ai"), nil, "setting gateway.metadata: want an object, got string"},
		{"six metadata entries", gw("metadata", map[string]any{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}), nil,
			"setting gateway.metadata: 6 entries, AI Gateway keeps at most 5"},
		{"provider-wide cache_key", gw("cache_key", "k1"), nil, "setting gateway.cache_key: " + transport.CacheKeyRefused},
		{"nested metadata", gw("metadata", map[string]any{"a": map[string]any{}}), nil,
			"setting gateway.metadata.a: want a string, number or boolean, got map[string]interface {}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := transport.ParseGateway(tc.raw, tc.extra...)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("ParseGateway = %+v, %v; want error %q", got, err, tc.want)
			}
		})
	}
}

func TestResolveBaseURL(t *testing.T) {
	const def = "https://api.example.com/v1"
	gateway := &transport.GatewaySettings{ID: "prod", AccountID: "acct", BaseURL: "https://gw.example.com/v1/"}
	cases := []struct {
		name     string
		baseURL  string
		g        *transport.GatewaySettings
		want     string
		wantHost string
		wantErr  string
	}{
		{"default", "", nil, def, "api.example.com", ""},
		{"base_url trimmed", "http://localhost:11434/v1/", nil, "http://localhost:11434/v1", "localhost:11434", ""},
		{"gateway endpoint", "", gateway, "https://gw.example.com/v1/acct/prod/openai", "gw.example.com", ""},
		{"both", "https://x", gateway, "", "",
			"settings base_url and gateway exclude each other (set gateway.base_url to reach another gateway host)"},
		{"not http", "ftp://x", nil, "", "", `setting base_url: "ftp://x" is not an http(s) URL`},
		{"no host", "https:///v1", nil, "", "", `setting base_url: "https:///v1" is not an http(s) URL`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, u, err := transport.ResolveBaseURL(tc.baseURL, def, tc.g, "openai")
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ResolveBaseURL = %q, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || u.Host != tc.wantHost {
				t.Errorf("ResolveBaseURL = %q (host %q), want %q (host %q)", got, u.Host, tc.want, tc.wantHost)
			}
		})
	}
}

func TestIsGatewayURL(t *testing.T) {
	cases := []struct {
		name string
		url  string
		want bool
	}{
		{"gateway host", "https://gateway.ai.cloudflare.com/v1/a/g/compat", true},
		{"other host", "https://api.openai.com/v1", false},
		{"host as a path", "https://example.com/gateway.ai.cloudflare.com", false},
		{"not a URL", "://", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := transport.IsGatewayURL(tc.url); got != tc.want {
				t.Errorf("IsGatewayURL(%q) = %v, want %v", tc.url, got, tc.want)
			}
		})
	}
}

func TestGatewayHeaders(t *testing.T) {
	g := &transport.GatewaySettings{ID: "prod", AccountID: "acct", Auth: "tok", Options: providers.GatewayOptions{
		CacheTTL: time.Hour, CacheKey: "base", Metadata: map[string]any{"team": "ai"}}}
	cases := []struct {
		name    string
		g       *transport.GatewaySettings
		over    *providers.GatewayOptions
		want    map[string]string
		wantErr string
	}{
		{"no gateway settings, no options", nil, nil, map[string]string{}, ""},
		{"no gateway settings, request options", nil, &providers.GatewayOptions{SkipCache: true},
			map[string]string{"Cf-Aig-Skip-Cache": "true"}, ""},
		{"settings only", g, nil, map[string]string{"Cf-Aig-Authorization": "Bearer tok", "Cf-Aig-Cache-Ttl": "3600",
			"Cf-Aig-Cache-Key": "base", "Cf-Aig-Metadata": `{"team":"ai"}`}, ""},
		{"request options win", g, &providers.GatewayOptions{CacheKey: "req", MaxAttempts: 2, Metadata: map[string]any{"run": "r1", "n": 7, "ok": true}},
			map[string]string{"Cf-Aig-Authorization": "Bearer tok", "Cf-Aig-Cache-Ttl": "3600", "Cf-Aig-Cache-Key": "req",
				"Cf-Aig-Max-Attempts": "2", "Cf-Aig-Metadata": `{"n":7,"ok":true,"run":"r1","team":"ai"}`}, ""},
		{"no token, no authorization", &transport.GatewaySettings{ID: "prod", AccountID: "acct"}, nil, map[string]string{}, ""},
		{"too much metadata", g, &providers.GatewayOptions{Metadata: map[string]any{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}},
			nil, "gateway metadata has 6 entries, AI Gateway keeps at most 5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := transport.GatewayHeaders(tc.g, tc.over)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("GatewayHeaders = %v, %v; want error %q", h, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for k := range h {
				got[k] = h.Get(k)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}
