package wiretest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// vzPath is a Vectorize path under the emulator's account.
func vzPath(rest string) string {
	return "/client/v4/accounts/" + CloudflareAccount + "/vectorize/v2/indexes" + rest
}

// vzDo sends one request and returns the status, the envelope's error codes and result.
func vzDo(t *testing.T, cf *Cloudflare, method, path, contentType, body string) (int, []int, json.RawMessage) {
	t.Helper()
	req, err := http.NewRequest(method, cf.Server.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cf.Token())
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	codes, result := envelopeCodes(t, string(b))
	return resp.StatusCode, codes, result
}

// vzOK sends a request that must succeed and decodes its result into out (when not nil).
func vzOK(t *testing.T, cf *Cloudflare, method, path, contentType, body string, out any) {
	t.Helper()
	status, codes, result := vzDo(t, cf, method, path, contentType, body)
	if status != 200 || len(codes) != 0 {
		t.Fatalf("%s %s: status %d codes %v", method, path, status, codes)
	}
	if out != nil {
		if err := json.Unmarshal(result, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, result)
		}
	}
}

// vzNewIndex creates an index through the API.
func vzNewIndex(t *testing.T, cf *Cloudflare, name string, dims int, metric string) {
	t.Helper()
	vzOK(t, cf, http.MethodPost, vzPath(""), "application/json",
		fmt.Sprintf(`{"name":%q,"config":{"dimensions":%d,"metric":%q}}`, name, dims, metric), nil)
}

// vzLines renders NDJSON lines.
func vzLines(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func TestVectorizeIndexes(t *testing.T) {
	cf := NewCloudflare(t)
	cf.AllowNonConforming() // sends requests the published schema rejects, on purpose
	tests := []struct {
		name       string
		method     string
		path, body string
		wantStatus int
		wantCodes  []int
		wantResult string // JSON subset checked when set
	}{
		{"create", "POST", vzPath(""), `{"name":"kb","description":"d","config":{"dimensions":3,"metric":"cosine"}}`, 200, nil,
			`{"name":"kb","description":"d","config":{"dimensions":3,"metric":"cosine"}}`},
		{"create from preset", "POST", vzPath(""), `{"name":"bge","config":{"preset":"@cf/baai/bge-small-en-v1.5"}}`, 200, nil,
			`{"name":"bge","description":"","config":{"dimensions":384,"metric":"cosine"}}`},
		{"duplicate name", "POST", vzPath(""), `{"name":"kb","config":{"dimensions":3,"metric":"cosine"}}`, 400, []int{vzCodeDuplicate}, ""},
		{"too many dimensions", "POST", vzPath(""), `{"name":"big","config":{"dimensions":1537,"metric":"cosine"}}`, 400, []int{vzCodeInvalid}, ""},
		{"unknown metric", "POST", vzPath(""), `{"name":"m","config":{"dimensions":3,"metric":"manhattan"}}`, 400, []int{vzCodeInvalid}, ""},
		{"unknown preset", "POST", vzPath(""), `{"name":"p","config":{"preset":"@cf/x"}}`, 400, []int{vzCodeInvalid}, ""},
		{"no config", "POST", vzPath(""), `{"name":"n"}`, 400, []int{vzCodeInvalid}, ""},
		{"bad name", "POST", vzPath(""), `{"name":"a/b","config":{"dimensions":3,"metric":"cosine"}}`, 400, []int{vzCodeInvalid}, ""},
		{"get", "GET", vzPath("/kb"), "", 200, nil, `{"name":"kb","description":"d","config":{"dimensions":3,"metric":"cosine"}}`},
		{"info of empty index", "GET", vzPath("/kb/info"), "", 200, nil,
			`{"dimensions":3,"vectorCount":0,"processedUpToDatetime":null,"processedUpToMutation":null}`},
		{"get missing", "GET", vzPath("/nope"), "", 404, []int{vzCodeNotFound}, ""},
		{"delete", "DELETE", vzPath("/bge"), "", 200, nil, `null`},
		{"get deleted", "GET", vzPath("/bge"), "", 404, []int{vzCodeNotFound}, ""},
		{"wrong account", "GET", "/client/v4/accounts/other/vectorize/v2/indexes/kb", "", 404, []int{7003, 7000}, ""},
		{"v1 path", "GET", "/client/v4/accounts/" + CloudflareAccount + "/vectorize/indexes/kb", "", 404, []int{7003, 7000}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, codes, result := vzDo(t, cf, tt.method, tt.path, "application/json", tt.body)
			if diff := cmp.Diff([]any{tt.wantStatus, tt.wantCodes}, []any{status, codes}); diff != "" {
				t.Fatalf("status, codes (-want +got):\n%s\nresult: %s", diff, result)
			}
			if tt.wantResult != "" {
				vzSubset(t, tt.wantResult, result)
			}
		})
	}
	var list []map[string]any
	vzOK(t, cf, "GET", vzPath(""), "", "", &list)
	if len(list) != 1 || list[0]["name"] != "kb" {
		t.Errorf("list = %v, want only kb", list)
	}
}

// vzSubset checks that every key of want has the same value in got.
func vzSubset(t *testing.T, want string, got json.RawMessage) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if wm, ok := w.(map[string]any); ok {
		gm, _ := g.(map[string]any)
		trimmed := map[string]any{}
		for k := range wm {
			trimmed[k] = gm[k]
		}
		g = trimmed
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func TestVectorizeUnauthorized(t *testing.T) {
	cf := NewCloudflare(t)
	req, _ := http.NewRequest("GET", cf.Server.URL+vzPath(""), nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	codes, _ := envelopeCodes(t, string(b))
	if resp.StatusCode != 401 || !cmp.Equal(codes, []int{10000}) {
		t.Errorf("status %d codes %v, want 401 [10000]", resp.StatusCode, codes)
	}
}

// vzMultipart builds a multipart body with one file part.
func vzMultipart(t *testing.T, part, ndjson string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile(part, "vectors.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(fw, ndjson)
	mw.Close()
	return mw.FormDataContentType(), buf.String()
}

func TestVectorizeWriteRejects(t *testing.T) {
	cf := NewCloudflare(t)
	cf.AllowNonConforming() // sends requests the published schema rejects, on purpose
	vzNewIndex(t, cf, "kb", 3, "cosine")
	good := `{"id":"a","values":[1,0,0]}`
	var many strings.Builder
	for i := range 5001 {
		fmt.Fprintf(&many, `{"id":"v%d","values":[1,0,0]}`+"\n", i)
	}
	bigMeta := `{"id":"m","values":[1,0,0],"metadata":{"t":"` + strings.Repeat("x", 10<<10) + `"}}`
	mpCT, mpBody := vzMultipart(t, "other", good)
	tests := []struct {
		name, query, ct, body string
		wantCodes             []int
	}{
		{"json array", "", "application/x-ndjson", `[` + good + `]`, []int{vzCodeInvalid}},
		{"wrong dimensions", "", "application/x-ndjson", `{"id":"a","values":[1,0]}`, []int{vzCodeInsertDims}},
		{"values missing", "", "application/x-ndjson", `{"id":"a"}`, []int{vzCodeInsertDims}},
		{"id missing", "", "application/x-ndjson", `{"values":[1,0,0]}`, []int{vzCodeInvalid}},
		{"id of 65 bytes", "", "application/x-ndjson", `{"id":"` + strings.Repeat("i", 65) + `","values":[1,0,0]}`, []int{vzCodeInvalid}},
		{"metadata over 10 KiB", "", "application/x-ndjson", bigMeta, []int{vzCodeInvalid}},
		{"metadata key with a dot", "", "application/x-ndjson", `{"id":"a","values":[1,0,0],"metadata":{"a.b":1}}`, []int{vzCodeInvalid}},
		{"nested key with a dot", "", "application/x-ndjson", `{"id":"a","values":[1,0,0],"metadata":{"a":{"b.c":1}}}`, []int{vzCodeInvalid}},
		{"namespace of 65 bytes", "", "application/x-ndjson", `{"id":"a","values":[1,0,0],"namespace":"` + strings.Repeat("n", 65) + `"}`, []int{vzCodeInvalid}},
		{"5001 lines", "", "application/x-ndjson", many.String(), []int{vzCodeInvalid}},
		{"unparsable line", "", "application/x-ndjson", vzLines(good, `{"id":`), []int{vzCodeBadJSON}},
		{"unparsable line, explicit error", "?unparsable-behavior=error", "application/x-ndjson", vzLines(good, `nope`), []int{vzCodeBadJSON}},
		{"unknown unparsable-behavior", "?unparsable-behavior=ignore", "application/x-ndjson", good, []int{vzCodeInvalid}},
		{"only unparsable lines discarded", "?unparsable-behavior=discard", "application/x-ndjson", "nope\n", []int{vzCodeInvalid}},
		{"empty body", "", "application/x-ndjson", "", []int{vzCodeInvalid}},
		{"multipart without vectors part", "", mpCT, mpBody, []int{vzCodeInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, codes, _ := vzDo(t, cf, "POST", vzPath("/kb/upsert"+tt.query), tt.ct, tt.body)
			if diff := cmp.Diff([]any{400, tt.wantCodes}, []any{status, codes}); diff != "" {
				t.Errorf("status, codes (-want +got):\n%s", diff)
			}
		})
	}
	if st, _ := cf.Vectorize().Stats("kb"); st.Vectors != 0 || st.Pending != 0 {
		t.Errorf("rejected writes changed the index: %+v", st)
	}
}

// vzGet returns the visible vectors among ids.
func vzGet(t *testing.T, cf *Cloudflare, index string, ids ...string) []vzVector {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"ids": ids})
	var out []vzVector
	vzOK(t, cf, "POST", vzPath("/"+index+"/get_by_ids"), "application/json", string(body), &out)
	return out
}

func TestVectorizeInsertUpsert(t *testing.T) {
	cf := NewCloudflare(t)
	vzNewIndex(t, cf, "kb", 2, "cosine")
	ct, body := vzMultipart(t, "vectors", vzLines(`{"id":"a","values":[1,0],"metadata":{"v":1}}`, `{"id":"b","values":[0,1]}`))
	vzOK(t, cf, "POST", vzPath("/kb/insert"), ct, body, nil)
	vzOK(t, cf, "POST", vzPath("/kb/insert?unparsable-behavior=discard"), "application/x-ndjson",
		vzLines(`{"id":"a","values":[1,1],"metadata":{"v":2}}`, `garbage`, `{"id":"c","values":[1,1],"namespace":"ns"}`), nil)
	vzOK(t, cf, "POST", vzPath("/kb/upsert"), "application/x-ndjson",
		vzLines(`{"id":"b","values":[2,2],"metadata":{"v":3}}`, `{"id":"b","values":[3,3],"metadata":{"v":4}}`), nil)
	want := []vzVector{
		{ID: "a", Values: []float64{1, 0}, Metadata: map[string]any{"v": 1.0}},
		{ID: "b", Values: []float64{3, 3}, Metadata: map[string]any{"v": 4.0}},
		{ID: "c", Values: []float64{1, 1}, Namespace: "ns"},
	}
	got := vzGet(t, cf, "kb", "a", "b", "c", "missing", "a")
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(vzVector{}), cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".indexed"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("get_by_ids (-want +got):\n%s", diff)
	}
	vzOK(t, cf, "POST", vzPath("/kb/delete_by_ids"), "application/json", `{"ids":["a","missing"]}`, nil)
	var info vzInfoJSON
	vzOK(t, cf, "GET", vzPath("/kb/info"), "", "", &info)
	if info.VectorCount != 2 || info.ProcessedUpToMutation == nil {
		t.Errorf("info after delete = %+v, want 2 vectors and a processed mutation", info)
	}
}

// vzMatchIDs runs a query and returns the matched ids, or the error codes.
func vzMatchIDs(t *testing.T, cf *Cloudflare, index, body string) ([]string, []int) {
	t.Helper()
	status, codes, result := vzDo(t, cf, "POST", vzPath("/"+index+"/query"), "application/json", body)
	if status != 200 {
		return nil, codes
	}
	var r struct {
		Count   int       `json:"count"`
		Matches []vzMatch `json:"matches"`
	}
	if err := json.Unmarshal(result, &r); err != nil {
		t.Fatal(err)
	}
	if r.Count != len(r.Matches) {
		t.Errorf("count %d for %d matches", r.Count, len(r.Matches))
	}
	ids := []string{}
	for _, m := range r.Matches {
		ids = append(ids, m.ID)
	}
	return ids, nil
}

func TestVectorizeQuery(t *testing.T) {
	cf := NewCloudflare(t)
	cf.AllowNonConforming() // sends requests the published schema rejects, on purpose
	for _, metric := range []string{"cosine", "euclidean", "dot-product"} {
		vzNewIndex(t, cf, metric, 2, metric)
		vzOK(t, cf, "POST", vzPath("/"+metric+"/upsert"), "application/x-ndjson", vzLines(
			`{"id":"east","values":[1,0]}`, `{"id":"far-east","values":[10,0.5]}`, `{"id":"north","values":[0,1],"namespace":"n"}`,
			`{"id":"west","values":[-1,0]}`, `{"id":"ne","values":[0.7,0.7],"namespace":"n"}`, `{"id":"e2","values":[0.9,0.1]}`,
			`{"id":"e3","values":[0.8,0.2]}`), nil)
	}
	tests := []struct {
		name, index, body string
		want              []string
		wantCodes         []int
	}{
		{"cosine best first, default topK 5", "cosine", `{"vector":[1,0]}`, []string{"east", "far-east", "e2", "e3", "ne"}, nil},
		{"euclidean nearest first", "euclidean", `{"vector":[1,0],"topK":3}`, []string{"east", "e2", "e3"}, nil},
		{"dot-product largest first", "dot-product", `{"vector":[1,0],"topK":2}`, []string{"far-east", "east"}, nil},
		{"namespace", "cosine", `{"vector":[1,0],"namespace":"n"}`, []string{"ne", "north"}, nil},
		{"vectorId without vector", "cosine", `{"vectorId":"north","topK":1}`, nil, []int{vzCodeInvalid}}, // the published body requires vector
		{"topK 100", "cosine", `{"vector":[1,0],"topK":100}`, []string{"east", "far-east", "e2", "e3", "ne", "north", "west"}, nil},
		{"topK 101", "cosine", `{"vector":[1,0],"topK":101}`, nil, []int{vzCodeTopK}},
		{"topK 51 with values", "cosine", `{"vector":[1,0],"topK":51,"returnValues":true}`, nil, []int{vzCodeTopK}},
		{"topK 51 with all metadata", "cosine", `{"vector":[1,0],"topK":51,"returnMetadata":"all"}`, nil, []int{vzCodeTopK}},
		{"topK 100 with indexed metadata", "cosine", `{"vector":[1,0],"topK":100,"returnMetadata":"indexed","namespace":"n"}`, []string{"ne", "north"}, nil},
		{"topK 0", "cosine", `{"vector":[1,0],"topK":0}`, nil, []int{vzCodeInvalid}},
		{"boolean returnMetadata", "cosine", `{"vector":[1,0],"returnMetadata":true}`, nil, []int{vzCodeInvalid}},
		{"wrong dimensions", "cosine", `{"vector":[1,0,0]}`, nil, []int{vzCodeQueryDims}},
		{"no vector", "cosine", `{"topK":3}`, nil, []int{vzCodeInvalid}},
		{"not JSON", "cosine", `{"vector":`, nil, []int{vzCodeBadJSON}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, codes := vzMatchIDs(t, cf, tt.index, tt.body)
			if diff := cmp.Diff([]any{tt.want, tt.wantCodes}, []any{got, codes}); diff != "" {
				t.Errorf("ids, codes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVectorizeQueryReturns(t *testing.T) {
	cf := NewCloudflare(t)
	vzNewIndex(t, cf, "kb", 2, "cosine")
	vzOK(t, cf, "POST", vzPath("/kb/metadata_index/create"), "application/json", `{"propertyName":"title","indexType":"string"}`, nil)
	long := strings.Repeat("t", 70)
	vzOK(t, cf, "POST", vzPath("/kb/upsert"), "application/x-ndjson",
		vzLines(`{"id":"a","values":[1,0],"metadata":{"title":"`+long+`","page":3},"namespace":"ns"}`), nil)
	tests := []struct {
		name, body string
		want       vzMatch
	}{
		{"ids and scores only", `{"vector":[1,0]}`, vzMatch{ID: "a", Score: 1, Namespace: "ns"}},
		{"values", `{"vector":[1,0],"returnValues":true}`, vzMatch{ID: "a", Score: 1, Namespace: "ns", Values: []float64{1, 0}}},
		{"all metadata", `{"vector":[1,0],"returnMetadata":"all"}`, vzMatch{ID: "a", Score: 1, Namespace: "ns",
			Metadata: map[string]any{"title": long, "page": 3.0}}},
		{"indexed metadata, cut to 64 bytes", `{"vector":[1,0],"returnMetadata":"indexed"}`, vzMatch{ID: "a", Score: 1, Namespace: "ns",
			Metadata: map[string]any{"title": long[:64]}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r struct{ Matches []vzMatch }
			vzOK(t, cf, "POST", vzPath("/kb/query"), "application/json", tt.body, &r)
			if diff := cmp.Diff([]vzMatch{tt.want}, r.Matches); diff != "" {
				t.Errorf("matches (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVectorizeFilter(t *testing.T) {
	cf := NewCloudflare(t)
	cf.AllowNonConforming() // sends requests the published schema rejects, on purpose
	vzNewIndex(t, cf, "kb", 2, "cosine")
	// "late" is written before its metadata index exists: it can never match a filter on it.
	vzOK(t, cf, "POST", vzPath("/kb/upsert"), "application/x-ndjson", vzLines(`{"id":"late","values":[1,0],"metadata":{"src":"a.md","year":2021}}`), nil)
	for _, idx := range []string{`{"propertyName":"src","indexType":"string"}`, `{"propertyName":"year","indexType":"number"}`,
		`{"propertyName":"draft","indexType":"boolean"}`, `{"propertyName":"doc.lang","indexType":"string"}`} {
		vzOK(t, cf, "POST", vzPath("/kb/metadata_index/create"), "application/json", idx, nil)
	}
	vzOK(t, cf, "POST", vzPath("/kb/upsert"), "application/x-ndjson", vzLines(
		`{"id":"a1","values":[1,0],"metadata":{"src":"a.md","year":2020,"draft":false,"doc":{"lang":"en"}}}`,
		`{"id":"a2","values":[0.9,0.1],"metadata":{"src":"a.md","year":2023,"draft":true,"doc":{"lang":"fr"}}}`,
		`{"id":"b1","values":[0.8,0.2],"metadata":{"src":"b.md","year":"2022"}}`,
		`{"id":"n1","values":[0.7,0.3],"metadata":{"src":"network.md","year":2024},"namespace":"x"}`,
	), nil)
	big := `{"src":{"$in":[` + strings.TrimSuffix(strings.Repeat(`"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",`, 40), ",") + `]}}`
	tests := []struct {
		name, filter string
		namespace    string
		want         []string
		wantCodes    []int
	}{
		{"bare value is $eq", `{"src":"a.md"}`, "", []string{"a1", "a2"}, nil},
		{"$ne", `{"src":{"$ne":"a.md"}}`, "", []string{"b1", "n1"}, nil},
		{"$in", `{"src":{"$in":["b.md","network.md"]}}`, "", []string{"b1", "n1"}, nil},
		{"$nin", `{"src":{"$nin":["a.md"]}}`, "", []string{"b1", "n1"}, nil},
		{"numeric range, string year not ordered", `{"year":{"$gte":2020,"$lt":2024}}`, "", []string{"a1", "a2"}, nil},
		{"$gt", `{"year":{"$gt":2020}}`, "", []string{"a2", "n1"}, nil},
		{"string prefix range", `{"src":{"$gte":"net","$lt":"neu"}}`, "", []string{"n1"}, nil},
		{"boolean", `{"draft":true}`, "", []string{"a2"}, nil},
		{"nested path", `{"doc.lang":"fr"}`, "", []string{"a2"}, nil},
		{"keys are ANDed", `{"src":"a.md","draft":false}`, "", []string{"a1"}, nil},
		{"namespace before filter", `{"year":{"$gte":2020}}`, "x", []string{"n1"}, nil},
		{"unindexed property matches nothing", `{"page":1}`, "", []string{}, nil},
		{"types do not coerce", `{"year":"2020"}`, "", []string{}, nil},
		{"unknown operator", `{"src":{"$regex":"a"}}`, "", nil, []int{vzCodeInvalid}},
		{"$or is not supported", `{"$or":[{"src":"a.md"}]}`, "", nil, []int{vzCodeInvalid}},
		{"two lower bounds", `{"year":{"$gt":1,"$gte":2}}`, "", nil, []int{vzCodeInvalid}},
		{"$eq with a range", `{"year":{"$eq":1,"$lt":2}}`, "", nil, []int{vzCodeInvalid}},
		{"$in needs an array", `{"src":{"$in":"a.md"}}`, "", nil, []int{vzCodeInvalid}},
		{"$in of objects", `{"src":{"$in":[{"a":1}]}}`, "", nil, []int{vzCodeInvalid}},
		{"range on a boolean", `{"draft":{"$lt":true}}`, "", nil, []int{vzCodeInvalid}},
		{"bare array", `{"src":["a.md"]}`, "", nil, []int{vzCodeInvalid}},
		{"empty key segment", `{"doc..lang":"en"}`, "", nil, []int{vzCodeInvalid}},
		{"key with a quote", `{"a\"b":1}`, "", nil, []int{vzCodeInvalid}},
		{"2048 bytes or more", big, "", nil, []int{vzCodeInvalid}},
		{"filter not an object", `["src"]`, "", nil, []int{vzCodeInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"vector":[1,0],"topK":10,"filter":%s,"namespace":%q}`, tt.filter, tt.namespace)
			got, codes := vzMatchIDs(t, cf, "kb", body)
			if diff := cmp.Diff([]any{tt.want, tt.wantCodes}, []any{got, codes}); diff != "" {
				t.Errorf("ids, codes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVectorizeMetadataIndexes(t *testing.T) {
	cf := NewCloudflare(t)
	cf.AllowNonConforming() // sends requests the published schema rejects, on purpose
	vzNewIndex(t, cf, "kb", 2, "cosine")
	create := func(prop, typ string) (int, []int) {
		status, codes, _ := vzDo(t, cf, "POST", vzPath("/kb/metadata_index/create"), "application/json",
			fmt.Sprintf(`{"propertyName":%q,"indexType":%q}`, prop, typ))
		return status, codes
	}
	for i := range 10 {
		if status, codes := create(fmt.Sprintf("p%d", i), "string"); status != 200 {
			t.Fatalf("creating metadata index %d: %d %v", i, status, codes)
		}
	}
	tests := []struct {
		name, prop, typ string
		wantCodes       []int
	}{
		{"eleventh", "p10", "string", []int{vzCodeInvalid}},
		{"duplicate", "p1", "number", []int{vzCodeDuplicate}},
		{"unknown type", "q", "date", []int{vzCodeInvalid}},
		{"empty name", "", "string", []int{vzCodeInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, codes := create(tt.prop, tt.typ)
			if diff := cmp.Diff([]any{400, tt.wantCodes}, []any{status, codes}); diff != "" {
				t.Errorf("status, codes (-want +got):\n%s", diff)
			}
		})
	}
	vzOK(t, cf, "POST", vzPath("/kb/metadata_index/delete"), "application/json", `{"propertyName":"p0"}`, nil)
	var list struct {
		MetadataIndexes []vzMetaBody `json:"metadataIndexes"`
	}
	vzOK(t, cf, "GET", vzPath("/kb/metadata_index/list"), "", "", &list)
	if len(list.MetadataIndexes) != 9 || list.MetadataIndexes[0] != (vzMetaBody{"p1", "string"}) {
		t.Errorf("list = %+v, want p1..p9", list.MetadataIndexes)
	}
	if status, codes, _ := vzDo(t, cf, "POST", vzPath("/kb/metadata_index/delete"), "application/json", `{"propertyName":"p0"}`); status != 404 {
		t.Errorf("deleting a missing metadata index: %d %v, want 404", status, codes)
	}
}

func TestVectorizeLag(t *testing.T) {
	cf := NewCloudflare(t)
	vz := cf.Vectorize()
	vzNewIndex(t, cf, "kb", 2, "cosine")
	vz.SetLag(VectorizeLag{InfoPolls: 2})
	var m1, m2 struct {
		MutationID string `json:"mutationId"`
	}
	vzOK(t, cf, "POST", vzPath("/kb/upsert"), "application/x-ndjson", vzLines(`{"id":"a","values":[1,0]}`), &m1)
	vzOK(t, cf, "POST", vzPath("/kb/upsert"), "application/x-ndjson", vzLines(`{"id":"b","values":[0,1]}`), &m2)
	if m1.MutationID == "" || m1.MutationID == m2.MutationID {
		t.Fatalf("mutation ids %q and %q, want two distinct ids", m1.MutationID, m2.MutationID)
	}
	ids, _ := vzMatchIDs(t, cf, "kb", `{"vector":[1,0]}`)
	if len(ids) != 0 || len(vzGet(t, cf, "kb", "a")) != 0 {
		t.Errorf("unprocessed writes are visible: %v", ids)
	}
	processed := func() string {
		var info vzInfoJSON
		vzOK(t, cf, "GET", vzPath("/kb/info"), "", "", &info)
		if info.ProcessedUpToMutation == nil {
			return ""
		}
		return *info.ProcessedUpToMutation
	}
	if got := processed(); got != "" {
		t.Errorf("after one poll processedUpToMutation = %q, want none", got)
	}
	if got := processed(); got != m2.MutationID {
		t.Errorf("after two polls processedUpToMutation = %q, want the last mutation %q", got, m2.MutationID)
	}
	ids, _ = vzMatchIDs(t, cf, "kb", `{"vector":[1,0]}`)
	if diff := cmp.Diff([]string{"a", "b"}, ids); diff != "" {
		t.Errorf("after processing (-want +got):\n%s", diff)
	}
	vzOK(t, cf, "POST", vzPath("/kb/delete_by_ids"), "application/json", `{"ids":["a"]}`, nil)
	if st, _ := vz.Stats("kb"); st.Vectors != 2 || st.Pending != 1 {
		t.Errorf("queued delete: stats %+v, want 2 vectors and 1 pending", st)
	}
	vz.Flush()
	if st, _ := vz.Stats("kb"); st.Vectors != 1 || st.Pending != 0 {
		t.Errorf("after Flush: stats %+v, want 1 vector and none pending", st)
	}
}

func TestVectorizeDelay(t *testing.T) {
	cf := NewCloudflare(t)
	vz := cf.Vectorize()
	vzNewIndex(t, cf, "kb", 2, "cosine")
	vz.SetLag(VectorizeLag{Delay: time.Hour})
	vzOK(t, cf, "POST", vzPath("/kb/upsert"), "application/x-ndjson", vzLines(`{"id":"a","values":[1,0]}`), nil)
	for range 3 {
		vzOK(t, cf, "GET", vzPath("/kb/info"), "", "", nil)
	}
	if st, _ := vz.Stats("kb"); st.Vectors != 0 || st.Pending != 1 {
		t.Errorf("within the delay: %+v, want the write pending however often /info is polled", st)
	}
	vz.Flush()
	if got := vzGet(t, cf, "kb", "a"); len(got) != 1 {
		t.Errorf("after Flush get_by_ids = %v, want a", got)
	}
}

func TestVectorizeFaults(t *testing.T) {
	cf := NewCloudflare(t)
	vzNewIndex(t, cf, "kb", 2, "cosine")
	cf.Faults.Add(CFGlobalRateLimitFault("1"))
	status, _, _ := vzDo(t, cf, "GET", vzPath("/kb/info"), "", "")
	if status != 429 {
		t.Errorf("faulted request: status %d, want 429", status)
	}
	if status, _, _ := vzDo(t, cf, "GET", vzPath("/kb/info"), "", ""); status != 200 {
		t.Errorf("next request: status %d, want 200", status)
	}
}
