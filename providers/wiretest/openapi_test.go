package wiretest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestOpenAPIFragment checks the vendored fragment: it names its source, holds every
// operation the emulators route through cfConform, and each of those is wired to a
// route with the published method and path.
func TestOpenAPIFragment(t *testing.T) {
	src := CloudflareOpenAPISource()
	if src.Repo != "github.com/cloudflare/api-schemas" || len(src.Commit) != 40 || src.Date == "" {
		t.Errorf("source = %+v, want the api-schemas repo, a full commit and a date", src)
	}
	routed := map[string]bool{}
	for _, rt := range cfRoutes {
		path := "/" + strings.TrimPrefix(rt.pattern, "client/v4/")
		for _, id := range CloudflareOperations() {
			op := cfOperation(id)
			if op.Method == rt.method && cfSamePath(op.Path, path) {
				routed[id] = true
			}
		}
	}
	for _, id := range CloudflareOperations() {
		if !routed[id] && !strings.HasPrefix(id, "r2-") { // aiflow has no R2 client yet
			t.Errorf("operation %s (%s %s) has no emulator route", id, cfOperation(id).Method, cfOperation(id).Path)
		}
	}
}

// cfSamePath compares two paths segment by segment, any {param} matching any other.
func cfSamePath(a, b string) bool {
	as, bs := strings.Split(strings.Trim(a, "/"), "/"), strings.Split(strings.Trim(b, "/"), "/")
	if len(as) != len(bs) {
		return false
	}
	for i := range as {
		if strings.HasPrefix(as[i], "{") && strings.HasPrefix(bs[i], "{") {
			continue
		}
		if as[i] != bs[i] {
			return false
		}
	}
	return true
}

// TestOpenAPIRejects drives each kind of check through the emulator: the request is
// answered 400 with the product's code and a message naming the violation.
func TestOpenAPIRejects(t *testing.T) {
	cf := NewCloudflare(t)
	cf.AllowNonConforming()
	if status, env := d1Req(t, cf, "POST", "/vectorize/v2/indexes", `{"name":"docs","config":{"dimensions":2,"metric":"cosine"}}`); status != 200 {
		t.Fatalf("create index: %d %v", status, env)
	}
	tests := []struct {
		name, method, path, ctype, body string
		code                            int
		msg                             string
	}{
		{"good query", "POST", "/vectorize/v2/indexes/docs/query", "application/json", `{"vector":[1,0],"returnMetadata":"all"}`, 0, ""},
		{"metadata list by GET", "GET", "/vectorize/v2/indexes/docs/metadata_index/list", "", "", 0, ""},
		{"enum", "POST", "/vectorize/v2/indexes/docs/query", "application/json", `{"vector":[1,0],"returnMetadata":"some"}`, vzCodeInvalid, `/returnMetadata: "some" is not one of ["none","indexed","all"]`},
		{"type in array", "POST", "/vectorize/v2/indexes/docs/query", "application/json", `{"vector":[1,"0"]}`, vzCodeInvalid, `/vector/1: the string "0" is not of type number`},
		{"not JSON", "POST", "/vectorize/v2/indexes/docs/query", "application/json", `{"vector":`, vzCodeBadJSON, "Failed to parse the request body as JSON"},
		{"content type", "POST", "/vectorize/v2/indexes/docs/query", "text/plain", `{"vector":[1,0]}`, vzCodeInvalid, `Content-Type "text/plain", the API takes application/json`},
		{"ndjson content type", "POST", "/vectorize/v2/indexes/docs/upsert", "application/json", `{"id":"a","values":[1,0]}`, vzCodeInvalid, "the API takes application/x-ndjson or multipart/form-data"},
		{"query parameter enum", "POST", "/vectorize/v2/indexes/docs/upsert?unparsable-behavior=skip", "application/x-ndjson", `{"id":"a","values":[1,0]}`, vzCodeInvalid, `query parameter unparsable-behavior: "skip" is not one of`},
		{"unknown query parameter", "POST", "/vectorize/v2/indexes/docs/upsert?dryRun=1", "application/x-ndjson", `{"id":"a","values":[1,0]}`, vzCodeInvalid, `unknown query parameter "dryRun" (accepted: unparsable-behavior)`},
		{"path parameter", "GET", "/ai-gateway/gateways/Bad%20Name", "", "", 7001, `path parameter id: "Bad Name" does not match the pattern`},
		{"query parameter range", "GET", "/ai-gateway/gateways?per_page=1000", "", "", 7001, "query parameter per_page: 1000 is above the maximum 100"},
		{"required body", "POST", "/d1/database", "application/json", "", 7400, "a request body (application/json) is required"},
		{"string params", "POST", "/d1/database/x/query", "application/json", `{"sql":"SELECT ?","params":[1]}`, 7400, "/params/0: the number 1 is not of type string"},
		{"null not nullable", "POST", "/ai-gateway/gateways", "application/json", `{"id":"g","cache_invalidate_on_update":null,"cache_ttl":null,"collect_logs":false,"rate_limiting_interval":null,"rate_limiting_limit":null,"rate_limiting_technique":"fixed"}`, 7001, "/cache_invalidate_on_update: null is not allowed"},
		{"integer", "POST", "/ai-gateway/gateways", "application/json", `{"id":"g","cache_invalidate_on_update":false,"cache_ttl":1.5,"collect_logs":false,"rate_limiting_interval":null,"rate_limiting_limit":null,"rate_limiting_technique":"fixed"}`, 7001, "/cache_ttl: the number 1.5 is not of type integer"},
		{"minimum", "POST", "/ai-gateway/gateways", "application/json", `{"id":"g","cache_invalidate_on_update":false,"cache_ttl":-1,"collect_logs":false,"rate_limiting_interval":null,"rate_limiting_limit":null,"rate_limiting_technique":"fixed"}`, 7001, "/cache_ttl: -1 is below the minimum 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, cf.APIBase()+"/accounts/"+cf.Account()+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+cf.Token())
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			env := decodeEnvelope(t, resp)
			code, msg := firstError(env)
			if tt.code == 0 {
				if resp.StatusCode != 200 {
					t.Fatalf("got %d %v, want 200", resp.StatusCode, env)
				}
				return
			}
			if resp.StatusCode != 400 || code != tt.code || !strings.Contains(msg, tt.msg) || env["success"] != false {
				t.Errorf("got %d %d %q, want 400 %d …%q…", resp.StatusCode, code, msg, tt.code, tt.msg)
			}
		})
	}
	if n := len(cf.NonConforming()); n != len(tests)-2 {
		t.Errorf("NonConforming has %d entries, want %d", n, len(tests)-2)
	}
}

// TestOpenAPIAuthFirst: an unauthenticated request gets 401, not a schema error.
func TestOpenAPIAuthFirst(t *testing.T) {
	cf := NewCloudflare(t)
	req, _ := http.NewRequest("POST", cf.APIBase()+"/accounts/"+cf.Account()+"/d1/database", strings.NewReader(`{}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	env := decodeEnvelope(t, resp)
	if code, _ := firstError(env); resp.StatusCode != 401 || code != 10000 {
		t.Errorf("got %d %v, want 401/10000", resp.StatusCode, env)
	}
}

// TestCheckConformanceFails: a client's non-conforming request fails the test that
// started the emulator.
func TestCheckConformanceFails(t *testing.T) {
	cf := NewCloudflare(t)
	status, _ := d1Req(t, cf, "POST", "/d1/database", `{"name":"Bad Name"}`)
	if status != 400 {
		t.Fatalf("status %d, want 400", status)
	}
	ft := &fakeTB{TB: t}
	cf.checkConformance(ft)
	if !ft.failed || !strings.Contains(ft.msg, `cloudflare-d1-create-database: body /name: "Bad Name" does not match`) {
		t.Errorf("checkConformance: failed=%v %q", ft.failed, ft.msg)
	}
	cf.AllowNonConforming()
}

type fakeTB struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
}

func decodeEnvelope(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%d %s: %v", resp.StatusCode, b, err)
	}
	return env
}
