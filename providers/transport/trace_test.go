package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/aiflow/aiflow/providers"
)

// TestAttemptSpans checks that, in a traced run, every HTTP attempt is a span under the
// caller's (the step's or item's) span, numbered, failed with error.type on a 429, and
// that each attempt carries a W3C traceparent naming its own span; and that an untraced
// call sends none and opens nothing.
func TestAttemptSpans(t *testing.T) {
	const secret = "tok-attempt-span-secret"
	var mu sync.Mutex
	var parents []string
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		parents = append(parents, r.Header.Get("traceparent"))
		mu.Unlock()
		if n%3 != 0 { // two 429s, then an answer
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":"slow down"}`)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	c := New(Options{Provider: "workers-ai", Secrets: []string{secret}, Retry: providers.RetryPolicy{Attempts: 3, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}})
	get := func(ctx context.Context) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/ai/run/"+secret+"?key="+secret, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	get(context.Background())
	for i, p := range parents {
		if p != "" {
			t.Errorf("untraced attempt %d sent traceparent %q", i+1, p)
		}
	}

	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	ctx, parent := tp.Tracer("test").Start(context.Background(), "item")
	parents = nil
	get(ctx)
	parent.End()
	var attempts tracetest.SpanStubs
	for _, s := range exp.GetSpans() {
		if s.Name != "item" {
			attempts = append(attempts, s)
		}
	}
	if len(attempts) != 3 || len(parents) != 3 {
		t.Fatalf("%d attempt spans, %d requests; want 3 of each", len(attempts), len(parents))
	}
	for i, s := range attempts {
		a := map[attribute.Key]attribute.Value{}
		for _, kv := range s.Attributes {
			a[kv.Key] = kv.Value
		}
		if s.Parent.SpanID() != parent.SpanContext().SpanID() || s.SpanContext.TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("attempt %d is not a child of the caller's span", i+1)
		}
		want := "00-" + s.SpanContext.TraceID().String() + "-" + s.SpanContext.SpanID().String() + "-01"
		if parents[i] != want {
			t.Errorf("attempt %d: traceparent %q, want %q", i+1, parents[i], want)
		}
		if a["aiflow.attempt"].AsInt64() != int64(i+1) || a["gen_ai.provider.name"].AsString() != "workers-ai" || a["http.request.method"].AsString() != "POST" {
			t.Errorf("attempt %d: attributes %v", i+1, s.Attributes)
		}
		failed := i < 2
		if got := s.Status.Code == codes.Error && a["error.type"].AsString() == "429" && a["http.response.status_code"].AsInt64() == 429; got != failed {
			t.Errorf("attempt %d: status %v, error.type %q, http.response.status_code %d; want failed=%v with 429", i+1, s.Status.Code, a["error.type"].AsString(), a["http.response.status_code"].AsInt64(), failed)
		}
		if i > 0 && a["http.request.resend_count"].AsInt64() != int64(i) {
			t.Errorf("attempt %d: http.request.resend_count %d, want %d", i+1, a["http.request.resend_count"].AsInt64(), i)
		}
	}
	for _, s := range attempts {
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.Emit(), secret) {
				t.Errorf("attribute %s holds the secret: %q", kv.Key, kv.Value.Emit())
			}
		}
	}
}

// TestAttemptSpanRateWait checks that the rate limiter's wait before an attempt is on
// the attempt's span, as an attribute and an event.
func TestAttemptSpanRateWait(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{}`) }))
	defer srv.Close()
	c := New(Options{Provider: "workers-ai", RatePerSecond: 2, Burst: 1}) // the second call waits about 500ms
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	ctx, parent := tp.Tracer("test").Start(context.Background(), "step")
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	parent.End()
	waited := 0
	for _, s := range exp.GetSpans() {
		for _, kv := range s.Attributes {
			if kv.Key == "aiflow.rate_limit.wait_ms" && kv.Value.AsFloat64() > 0 && len(s.Events) == 1 && s.Events[0].Name == "aiflow.rate_limit.wait" {
				waited++
			}
		}
	}
	if waited != 1 {
		t.Errorf("%d attempt spans show a rate-limit wait (attribute and event), want 1", waited)
	}
}
