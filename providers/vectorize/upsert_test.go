package vectorize_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/vectorize"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func TestUpsertBatches(t *testing.T) {
	tests := []struct {
		name        string
		n           int
		batchSize   any
		wantBatches int
	}{
		{"one vector", 1, nil, 1},
		{"exactly the default batch", 1000, nil, 1},
		{"default batch size", 2500, nil, 3},
		{"batch_size setting", 250, 100, 3},
		{"Vectorize's maximum", 5001, 5000, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			extra := map[string]any{}
			if tt.batchSize != nil {
				extra["batch_size"] = tt.batchSize
			}
			x := open(t, newBackend(t, cf, nil), spec("kb", 8, "cosine", nil, extra))
			vs := make([]providers.Vector, tt.n)
			for i := range vs {
				vs[i] = vec(fmt.Sprintf("doc#%d", i), unit(8, i), "i", i)
			}
			cf.Reset()
			n, err := x.Upsert(context.Background(), vs)
			if err != nil || n != tt.n {
				t.Fatalf("Upsert = %d, %v; want %d", n, err, tt.n)
			}
			if got := count(cf, "POST", "/kb/upsert"); got != tt.wantBatches {
				t.Errorf("%d upsert requests, want %d", got, tt.wantBatches)
			}
			if st, _ := cf.Vectorize().Stats("kb"); st.Vectors != tt.n {
				t.Errorf("index holds %d vectors, want %d", st.Vectors, tt.n)
			}
		})
	}
}

func TestUpsertWireFormat(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	x := open(t, newBackend(t, cf, nil), spec("kb", 2, "cosine", nil, nil))
	cf.Reset()
	v := providers.Vector{ID: "a#0", Values: []float32{0.5, -0.25}, Metadata: map[string]any{"src": "a.md", "page": 3},
		Namespace: "team", Text: "not sent"}
	if _, err := x.Upsert(context.Background(), []providers.Vector{v, vec("b", []float32{1, 0})}); err != nil {
		t.Fatal(err)
	}
	req := cf.Requests()[0]
	mt, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("content type %q", req.Header.Get("Content-Type"))
	}
	part, err := multipart.NewReader(bytes.NewReader(req.Body), params["boundary"]).NextPart()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(part)
	got := []string{part.FormName(), part.Header.Get("Content-Type"), string(body)}
	want := []string{"vectors", "application/x-ndjson",
		`{"id":"a#0","values":[0.5,-0.25],"metadata":{"page":3,"src":"a.md"},"namespace":"team"}` + "\n" +
			`{"id":"b","values":[1,0]}` + "\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("upload part (-want +got):\n%s", diff)
	}
}

func TestUpsertLimits(t *testing.T) {
	ok := []float32{1, 0, 0}
	tests := []struct {
		name string
		v    providers.Vector
		want []string
	}{
		{"empty id", vec("", ok), []string{"vector id is empty"}},
		{"id of 65 bytes", vec(strings.Repeat("i", 65), ok), []string{"is 65 bytes", "limit is 64"}},
		{"wrong dimensions", vec("a", []float32{1, 0}), []string{`vector "a" has 2 dimensions, the index has 3`}},
		{"NaN", vec("a", []float32{1, float32(math.NaN()), 0}), []string{"value 1 is NaN"}},
		{"infinity", vec("a", []float32{float32(math.Inf(1)), 0, 0}), []string{"value 0 is +Inf"}},
		{"metadata over 10 KiB", vec("a", ok, "t", strings.Repeat("x", 10<<10)), []string{"metadata is 10248 bytes", "limit is 10240"}},
		{"dotted metadata key", vec("a", ok, "a.b", 1), []string{`metadata key "a.b" contains '.'`}},
		{"nested dotted key", vec("a", ok, "a", map[string]any{"b.c": 1}), []string{`metadata key "a.b.c"`}},
		{"metadata not JSON", vec("a", ok, "f", math.Inf(1)), []string{"metadata is not JSON"}},
		{"namespace of 65 bytes", providers.Vector{ID: "a", Values: ok, Namespace: strings.Repeat("n", 65)}, []string{"namespace is 65 bytes"}},
	}
	cf := wiretest.NewCloudflare(t)
	x := open(t, newBackend(t, cf, nil), spec("kb", 3, "cosine", nil, nil))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf.Reset()
			// A valid vector first: nothing at all may be sent when one vector is bad.
			n, err := x.Upsert(context.Background(), []providers.Vector{vec("good", ok), tt.v})
			wantErr(t, err, append([]string{`vectorize index "kb": upsert: `}, tt.want...)...)
			if n != 0 || cf.Count() != 0 {
				t.Errorf("Upsert returned %d and sent %d requests, want nothing sent", n, cf.Count())
			}
		})
	}
}

// failNth answers the nth request whose path ends in suffix with a 400 envelope.
type failNth struct {
	next   http.RoundTripper
	suffix string
	n      int
	mu     sync.Mutex
	seen   int
}

func (f *failNth) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	if strings.HasSuffix(r.URL.Path, f.suffix) {
		f.seen++
	}
	fail := f.seen == f.n && strings.HasSuffix(r.URL.Path, f.suffix)
	f.mu.Unlock()
	if !fail {
		return f.next.RoundTrip(r)
	}
	body := `{"success":false,"errors":[{"code":40000,"message":"bad batch"}],"messages":[],"result":null}`
	return &http.Response{StatusCode: 400, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func TestUpsertBatchFailure(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	rt := &failNth{next: http.DefaultTransport, suffix: "/kb/upsert", n: 2}
	x := open(t, newBackend(t, cf, nil, vectorize.WithTransport(rt)), spec("kb", 2, "cosine", nil, map[string]any{"batch_size": 2}))
	vs := []providers.Vector{vec("a", []float32{1, 0}), vec("b", []float32{0, 1}), vec("c", []float32{1, 1}),
		vec("d", []float32{1, -1}), vec("e", []float32{-1, 1})}
	n, err := x.Upsert(context.Background(), vs)
	wantErr(t, err, `vectorize index "kb": upserting batch 2 of 3 (vectors 2 to 3)`, "HTTP 400 (code 40000): bad batch")
	if n != 2 {
		t.Errorf("Upsert reported %d written, want the 2 of the first batch", n)
	}
	if st, _ := cf.Vectorize().Stats("kb"); st.Vectors != 2 {
		t.Errorf("index holds %d vectors, want 2", st.Vectors)
	}
	if got := count(cf, "POST", "/kb/upsert"); got != 1 {
		t.Errorf("%d upserts reached the server, want 1 (a 400 is not retried, batch 3 not sent)", got)
	}
}
