package wiretest

import (
	"strings"
	"testing"
)

func TestGatewayAdmin(t *testing.T) {
	cf := NewCloudflare(t)
	cf.AllowNonConforming() // sends requests the published schema rejects, on purpose
	full := `{"id":"prod","cache_invalidate_on_update":false,"cache_ttl":3600,"collect_logs":true,"rate_limiting_interval":60,"rate_limiting_limit":100,"rate_limiting_technique":"sliding"}`
	tests := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"create", "POST", "", full, 200, ""},
		{"duplicate", "POST", "", full, 400, "already exists"},
		{"missing required", "POST", "", `{"id":"x","cache_ttl":null}`, 400, `required property "rate_limiting_interval" is missing`},
		{"bad technique", "POST", "", strings.Replace(full, `"sliding"`, `"leaky"`, 1), 400, "rate_limiting_technique"},
		{"unknown field", "POST", "", full[:len(full)-1] + `,"colour":"red"}`, 400, "unknown field colour"},
		{"long name", "POST", "", strings.Replace(full, `"prod"`, `"`+strings.Repeat("g", 65)+`"`, 1), 400, "longer than 64 characters"},
		{"update", "PUT", "/prod", `{"cache_invalidate_on_update":false,"cache_ttl":null,"collect_logs":false,"rate_limiting_interval":null,"rate_limiting_limit":null,"rate_limiting_technique":"fixed"}`, 200, ""},
		{"update id", "PUT", "/prod", `{"id":"x","cache_invalidate_on_update":false,"cache_ttl":null,"collect_logs":false,"rate_limiting_interval":null,"rate_limiting_limit":null,"rate_limiting_technique":"fixed"}`, 400, "id cannot be changed"},
		{"update missing", "PUT", "/nope", `{"cache_invalidate_on_update":false,"cache_ttl":null,"collect_logs":false,"rate_limiting_interval":null,"rate_limiting_limit":null,"rate_limiting_technique":"fixed"}`, 404, "Not Found"},
		{"get", "GET", "/prod", "", 200, ""},
		{"get missing", "GET", "/nope", "", 404, "Not Found"},
		{"list", "GET", "?search=pro", "", 200, ""},
		{"delete", "DELETE", "/prod", "", 200, ""},
		{"delete again", "DELETE", "/prod", "", 404, "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, env := d1Req(t, cf, tt.method, "/ai-gateway/gateways"+tt.path, tt.body)
			_, msg := firstError(env)
			if status != tt.status || !strings.Contains(msg, tt.msg) {
				t.Errorf("got %d %q, want %d …%q…", status, msg, tt.status, tt.msg)
			}
			if tt.name == "get" {
				gw := env["result"].(map[string]any)
				if gw["cache_ttl"] != nil || gw["collect_logs"] != false || gw["account_id"] != cf.Account() {
					t.Errorf("after update: %v", gw)
				}
			}
			if tt.name == "list" {
				if items := env["result"].([]any); len(items) != 1 {
					t.Errorf("list = %v", items)
				}
			}
		})
	}
	if ids := cf.Gateways().IDs(); len(ids) != 0 {
		t.Errorf("gateways left: %v", ids)
	}
}
