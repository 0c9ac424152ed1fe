package wiretest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestEmulatorAnswersConform drives every vendored Vectorize, D1 and AI Gateway
// operation through the emulator and checks each successful answer against the
// operation's published response schema, so clients tested here see the shapes the
// real API documents.
func TestEmulatorAnswersConform(t *testing.T) {
	cf := NewCloudflare(t)
	base := "/accounts/" + cf.Account()
	send := func(method, path, ctype, body string) []byte {
		t.Helper()
		req, err := http.NewRequest(method, cf.APIBase()+base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+cf.Token())
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return b
	}
	var d1UUID string
	calls := []struct {
		op, method, path, ctype, body string
		after                         func([]byte)
	}{
		{"vectorize-create-vectorize-index", "POST", "/vectorize/v2/indexes", "application/json", `{"name":"docs","config":{"dimensions":2,"metric":"cosine"}}`, nil},
		{"vectorize-list-vectorize-indexes", "GET", "/vectorize/v2/indexes", "", "", nil},
		{"vectorize-get-vectorize-index", "GET", "/vectorize/v2/indexes/docs", "", "", nil},
		{"vectorize-create-metadata-index", "POST", "/vectorize/v2/indexes/docs/metadata_index/create", "application/json", `{"propertyName":"source","indexType":"string"}`, nil},
		{"vectorize-list-metadata-indexes", "GET", "/vectorize/v2/indexes/docs/metadata_index/list", "", "", nil},
		{"vectorize-insert-vector", "POST", "/vectorize/v2/indexes/docs/insert", "application/x-ndjson", `{"id":"a","values":[1,0],"metadata":{"source":"a.md"}}`, nil},
		{"vectorize-upsert-vector", "POST", "/vectorize/v2/indexes/docs/upsert", "application/x-ndjson", `{"id":"b","values":[0,1]}`, nil},
		{"vectorize-index-info", "GET", "/vectorize/v2/indexes/docs/info", "", "", nil},
		{"vectorize-query-vector", "POST", "/vectorize/v2/indexes/docs/query", "application/json", `{"vector":[1,0],"topK":2,"returnMetadata":"all"}`, nil},
		{"vectorize-get-vectors-by-id", "POST", "/vectorize/v2/indexes/docs/get_by_ids", "application/json", `{"ids":["a","b"]}`, nil},
		{"vectorize-delete-vectors-by-id", "POST", "/vectorize/v2/indexes/docs/delete_by_ids", "application/json", `{"ids":["a"]}`, nil},
		{"vectorize-delete-metadata-index", "POST", "/vectorize/v2/indexes/docs/metadata_index/delete", "application/json", `{"propertyName":"source"}`, nil},
		{"vectorize-delete-vectorize-index", "DELETE", "/vectorize/v2/indexes/docs", "", "", nil},
		{"cloudflare-d1-create-database", "POST", "/d1/database", "application/json", `{"name":"kb"}`, func(b []byte) {
			var env struct{ Result struct{ UUID string } }
			_ = json.Unmarshal(b, &env)
			d1UUID = env.Result.UUID
		}},
		{"cloudflare-d1-list-databases", "GET", "/d1/database?name=kb", "", "", nil},
		{"cloudflare-d1-get-database", "GET", "/d1/database/{db}", "", "", nil},
		{"cloudflare-d1-query-database", "POST", "/d1/database/{db}/query", "application/json", `{"sql":"SELECT ? AS a","params":["1"]}`, nil},
		{"cloudflare-d1-raw-database-query", "POST", "/d1/database/{db}/raw", "application/json", `{"sql":"SELECT 1 AS a"}`, nil},
		{"cloudflare-d1-delete-database", "DELETE", "/d1/database/{db}", "", "", nil},
		{"aig-config-create-gateway", "POST", "/ai-gateway/gateways", "application/json", `{"id":"prod","cache_invalidate_on_update":false,"cache_ttl":60,"collect_logs":true,"rate_limiting_interval":null,"rate_limiting_limit":null,"rate_limiting_technique":"fixed"}`, nil},
		{"aig-config-list-gateway", "GET", "/ai-gateway/gateways", "", "", nil},
		{"aig-config-fetch-gateway", "GET", "/ai-gateway/gateways/prod", "", "", nil},
		{"aig-config-update-gateway", "PUT", "/ai-gateway/gateways/prod", "application/json", `{"cache_invalidate_on_update":false,"cache_ttl":null,"collect_logs":false,"rate_limiting_interval":60,"rate_limiting_limit":10,"rate_limiting_technique":"sliding"}`, nil},
		{"aig-config-delete-gateway", "DELETE", "/ai-gateway/gateways/prod", "", "", nil},
	}
	seen := map[string]bool{}
	for _, c := range calls {
		t.Run(c.op, func(t *testing.T) {
			b := send(c.method, strings.ReplaceAll(c.path, "{db}", d1UUID), c.ctype, c.body)
			if c.after != nil {
				c.after(b)
			}
			var v any
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("answer is not JSON: %v: %s", err, b)
			}
			if msg := oaValidate(oaEnvelope(cfOperation(c.op).Response), oaNumbers(v), ""); msg != "" {
				t.Errorf("answer does not match the published response schema: %s\n%s", msg, b)
			}
			seen[c.op] = true
		})
	}
	for _, id := range CloudflareOperations() {
		if !seen[id] && !strings.HasPrefix(id, "r2-") {
			t.Errorf("operation %s is not driven by this test", id)
		}
	}
}

// TestEnvelopeSchemaRejects: the flattened response schemas still reject what they
// should, and a list result passes where the common envelope alone says object.
func TestEnvelopeSchemaRejects(t *testing.T) {
	tests := []struct {
		op, body, want string
	}{
		{"vectorize-index-info", `{"success":true,"errors":[],"messages":[],"result":{"dimensions":"two"}}`, `/result/dimensions: the string "two" is not of type integer`},
		{"vectorize-index-info", `{"success":true,"errors":[],"result":{}}`, `required property "messages" is missing`},
		{"cloudflare-d1-list-databases", `{"success":true,"errors":[],"messages":[],"result":[{"name":"_x"}]}`, `/result/0/name: "_x" does not match`},
		{"cloudflare-d1-list-databases", `{"success":true,"errors":[],"messages":[],"result":[{"name":"kb"}]}`, ""},
		{"aig-config-fetch-gateway", `{"success":true,"result":{"id":"g"}}`, `/result: required property "rate_limiting_interval" is missing`},
	}
	for _, tt := range tests {
		var v any
		if err := json.Unmarshal([]byte(tt.body), &v); err != nil {
			t.Fatal(err)
		}
		msg := oaValidate(oaEnvelope(cfOperation(tt.op).Response), v, "")
		if tt.want == "" && msg != "" || tt.want != "" && !strings.Contains(msg, tt.want) {
			t.Errorf("%s %s: got %q, want …%s…", tt.op, tt.body, msg, tt.want)
		}
	}
}
