package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
)

// reply is one scripted server answer; hangUp closes the connection without answering.
type reply struct {
	status int
	header map[string]string
	body   string
	hangUp bool
}

// script serves replies in order (the last one repeats) and records request bodies and
// arrival times.
type script struct {
	mu      sync.Mutex
	replies []reply
	bodies  []string
	times   []time.Time
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(body))
	s.times = append(s.times, time.Now())
	rep := s.replies[min(len(s.bodies), len(s.replies))-1]
	s.mu.Unlock()
	if rep.hangUp {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

func (s *script) recorded() ([]string, []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...), append([]time.Time(nil), s.times...)
}

func (s *script) attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

// waits records OnBackoff calls.
type waits struct {
	mu   sync.Mutex
	list []time.Duration
}

func (w *waits) add(_ int, d time.Duration) {
	w.mu.Lock()
	w.list = append(w.list, d)
	w.mu.Unlock()
}

func post(t *testing.T, c *http.Client, url, body string) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

const fast = time.Millisecond

func TestRetries(t *testing.T) {
	ok := reply{status: 200, body: `{"ok":true}`}
	tests := []struct {
		name         string
		replies      []reply
		maxBackoff   time.Duration
		wantAttempts int
		wantBody     string
		wantErr      *providers.Error // compared on Status, Code, Retryable, Quota
		wantWaits    []time.Duration  // exact waits, when the server advised them
	}{
		{
			name:         "429 with Retry-After-Ms then 200",
			replies:      []reply{{status: 429, header: map[string]string{"Retry-After-Ms": "40"}, body: "slow down"}, ok},
			wantAttempts: 2, wantBody: `{"ok":true}`, wantWaits: []time.Duration{40 * time.Millisecond},
		},
		{
			name:         "three 503 then success",
			replies:      []reply{{status: 503, body: "busy"}, {status: 503, body: "busy"}, {status: 503, body: "busy"}, ok},
			wantAttempts: 4, wantBody: `{"ok":true}`,
		},
		{
			name:         "four 503 give up with the last body",
			replies:      []reply{{status: 503, body: `{"errors":[{"code":7010,"message":"service unavailable"}]}`}},
			wantAttempts: 4,
			wantErr:      &providers.Error{Status: 503, Code: "7010", Retryable: true},
		},
		{
			name:         "non-retryable 400 fails at once",
			replies:      []reply{{status: 400, body: `{"error":{"type":"invalid_request_error","message":"bad field"}}`}, ok},
			wantAttempts: 1,
			wantErr:      &providers.Error{Status: 400, Code: "invalid_request_error"},
		},
		{
			name:         "huge Retry-After capped",
			replies:      []reply{{status: 429, header: map[string]string{"Retry-After": "3600"}}, ok},
			maxBackoff:   20 * time.Millisecond,
			wantAttempts: 2, wantBody: `{"ok":true}`, wantWaits: []time.Duration{20 * time.Millisecond},
		},
		{
			name:         "x-should-retry false stops a 503",
			replies:      []reply{{status: 503, header: map[string]string{"X-Should-Retry": "false"}}, ok},
			wantAttempts: 1,
			wantErr:      &providers.Error{Status: 503},
		},
		{
			name:         "x-should-retry true retries a 400",
			replies:      []reply{{status: 400, header: map[string]string{"X-Should-Retry": "true"}}, ok},
			wantAttempts: 2, wantBody: `{"ok":true}`,
		},
		{
			name:         "connection reset retried",
			replies:      []reply{{hangUp: true}, {hangUp: true}, ok},
			wantAttempts: 3, wantBody: `{"ok":true}`,
		},
		{
			name:         "HTML 429 is a retryable rate limit",
			replies:      []reply{{status: 429, body: "<html><h1>Error 1015</h1><p>You are being rate limited</p></html>"}},
			wantAttempts: 4,
			wantErr:      &providers.Error{Status: 429, Retryable: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{replies: tt.replies}
			srv := httptest.NewServer(s)
			defer srv.Close()
			var w waits
			maxB := tt.maxBackoff
			if maxB == 0 {
				maxB = time.Second
			}
			c := New(Options{Provider: "test", Retry: providers.RetryPolicy{Backoff: fast, MaxBackoff: maxB}, OnBackoff: w.add})
			body, err := post(t, c, srv.URL, `{"q":1}`)
			if got := s.attempts(); got != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", got, tt.wantAttempts)
			}
			bodies, _ := s.recorded()
			for i, b := range bodies {
				if b != `{"q":1}` {
					t.Errorf("attempt %d sent body %q, want the original bytes", i+1, b)
				}
			}
			if tt.wantWaits != nil {
				if diff := cmp.Diff(tt.wantWaits, w.list); diff != "" {
					t.Errorf("waits (-want +got):\n%s", diff)
				}
			}
			checkOutcome(t, body, err, tt.wantBody, tt.wantErr)
		})
	}
}

func checkOutcome(t *testing.T, body string, err error, wantBody string, want *providers.Error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		if body != wantBody {
			t.Errorf("body = %q, want %q", body, wantBody)
		}
		return
	}
	var pe *providers.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *providers.Error", err, err)
	}
	got := providers.Error{Status: pe.Status, Code: pe.Code, Retryable: pe.Retryable, Quota: pe.Quota}
	if diff := cmp.Diff(*want, got); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if pe.Provider != "test" || pe.Message == "" {
		t.Errorf("error %q lacks provider or message", pe.Error())
	}
}

func TestErrorMessageFromBody(t *testing.T) {
	tests := []struct {
		name, body, wantCode, wantMsg string
	}{
		{"cloudflare envelope", `{"success":false,"errors":[{"code":7003,"message":"Could not route"},{"code":7000,"message":"No route for that URI"}]}`,
			"7003", "Could not route; No route for that URI (code 7000)"},
		{"gateway error array", `{"success":false,"error":[{"code":2009,"message":"Unauthorized"}],"name":"AiGatewayError"}`, "2009", "Unauthorized"},
		{"openai", `{"error":{"message":"quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`, "insufficient_quota", "quota"},
		{"anthropic", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, "overloaded_error", "Overloaded"},
		{"bare message", `{"message":"nope"}`, "", "nope"},
		{"html", "<html><body><h1>Error 1015</h1>\n<p>rate limited</p></body></html>", "", "Error 1015 rate limited"},
		{"text", "upstream connect error\n", "", "upstream connect error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := ParseErrorBody([]byte(tt.body))
			if diff := cmp.Diff([]string{tt.wantCode, tt.wantMsg}, []string{code, msg}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	now := time.Now()
	withHeader := func(k, v string) *http.Response {
		return &http.Response{StatusCode: 429, Header: http.Header{k: []string{v}}}
	}
	tests := []struct {
		name     string
		attempt  int
		resp     *http.Response
		jitter   float64
		min, max time.Duration
	}{
		{"first attempt no jitter", 0, nil, 0, 500 * time.Millisecond, 500 * time.Millisecond},
		{"third attempt full jitter", 2, nil, 0.999999, 1500 * time.Millisecond, 2 * time.Second},
		{"exponential capped", 10, nil, 0, 30 * time.Second, 30 * time.Second},
		{"overflowing shift capped", 80, nil, 0, 30 * time.Second, 30 * time.Second},
		{"retry-after seconds", 0, withHeader("Retry-After", "3"), 0.9, 3 * time.Second, 3 * time.Second},
		{"retry-after date", 0, withHeader("Retry-After", now.Add(10*time.Second).UTC().Format(http.TimeFormat)), 0, 8 * time.Second, 10 * time.Second},
		{"retry-after beyond cap", 0, withHeader("Retry-After", "999999999999"), 0, 30 * time.Second, 30 * time.Second},
		{"retry-after-ms wins", 0, &http.Response{Header: http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"9"}}}, 0, 250 * time.Millisecond, 250 * time.Millisecond},
		{"unparsable retry-after ignored", 1, withHeader("Retry-After", "soon"), 0, time.Second, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Backoff(DefaultBackoff, DefaultMaxBackoff, tt.attempt, tt.resp, tt.jitter)
			if got < tt.min || got > tt.max {
				t.Errorf("Backoff = %s, want within [%s, %s]", got, tt.min, tt.max)
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	const secret = "sk-very-secret-42"
	s := &script{replies: []reply{{status: 401, body: `{"errors":[{"code":10000,"message":"Authentication error for token sk-very-secret-42"}]}`}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	var trace bytes.Buffer
	c := New(Options{Provider: "test", Secrets: []string{secret, ""}, Debug: &trace, Retry: providers.RetryPolicy{Backoff: fast}})
	_, err := post(t, c, srv.URL+"/v1?key="+secret, "{}")
	if err == nil {
		t.Fatal("want an error")
	}
	pe := Cause(err).(*providers.Error)
	for name, text := range map[string]string{"error": pe.Error(), "message": pe.Message, "trace": trace.String()} {
		if strings.Contains(text, secret) {
			t.Errorf("%s leaks the secret: %q", name, text)
		}
	}
	if !strings.Contains(pe.Message, "[REDACTED]") || !strings.Contains(trace.String(), "key=[REDACTED]") {
		t.Errorf("redaction marker missing: message %q, trace %q", pe.Message, trace.String())
	}
	if !strings.Contains(trace.String(), "attempt=1 status=401") {
		t.Errorf("trace %q lacks attempt and status", trace.String())
	}
}

func TestRedact(t *testing.T) {
	got := Redact("a=abc&b=abcdef&c=x y", []string{"abc", "abcdef", "x y", ""})
	if want := "a=[REDACTED]&b=[REDACTED]&c=[REDACTED]"; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
	if got := Redact("q=x+y", []string{"x y"}); got != "q=[REDACTED]" {
		t.Errorf("query-escaped secret not redacted: %q", got)
	}
}

func TestCustomClassify(t *testing.T) {
	s := &script{replies: []reply{{status: 429, body: `{"errors":[{"code":3036,"message":"daily free allocation"}]}`}, {status: 200}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	classify := func(resp *http.Response, body []byte) *providers.Error {
		code, msg := ParseErrorBody(body)
		return &providers.Error{Code: code, Message: msg, Quota: code == "3036"}
	}
	c := New(Options{Provider: "test", Classify: classify, Retry: providers.RetryPolicy{Backoff: fast}})
	_, err := post(t, c, srv.URL, "{}")
	checkOutcome(t, "", err, "", &providers.Error{Status: 429, Code: "3036", Quota: true})
	if s.attempts() != 1 {
		t.Errorf("quota error retried: %d attempts", s.attempts())
	}
}

func TestContextCancelStopsWaiting(t *testing.T) {
	s := &script{replies: []reply{{status: 503, header: map[string]string{"Retry-After": "20"}}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	c := New(Options{Provider: "test", OnBackoff: func(int, time.Duration) { cancel() }})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("{}"))
	_, err := c.Do(req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if s.attempts() != 1 {
		t.Errorf("attempts = %d, want 1", s.attempts())
	}
}

// TestRateLimit checks the token-bucket bound at the server: however the requests are
// scheduled, by t seconds after the start at most burst + rate×t may have arrived.
// Delays only push arrivals later, so the bound is robust to a loaded machine.
func TestRateLimit(t *testing.T) {
	const (
		rps   = 50.0
		burst = 2
		n     = 24
	)
	s := &script{replies: []reply{{status: 200}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	var mu sync.Mutex
	var admitted []time.Time
	c := New(Options{Provider: "test", RatePerSecond: rps, Burst: burst, OnAdmit: func(at time.Time) {
		mu.Lock()
		admitted = append(admitted, at)
		mu.Unlock()
	}})
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := post(t, c, srv.URL, "{}"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	_, times := s.recorded()
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	if len(times) != n {
		t.Fatalf("server saw %d requests, want %d", len(times), n)
	}
	for i, at := range times {
		earliest := time.Duration(float64(i+1-burst) / rps * float64(time.Second))
		if got := at.Sub(start); got < earliest-time.Millisecond {
			t.Errorf("request %d arrived %s after start, before the limiter allows (%s)", i+1, got, earliest)
		}
	}
	checkAdmissions(t, admitted, rps, burst)
}

// checkAdmissions verifies the limiter's schedule exactly: any i..j admissions span at
// least (j-i+1-burst)/rps.
func checkAdmissions(t *testing.T, at []time.Time, rps float64, burst int) {
	t.Helper()
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	for i := range at {
		for j := i + burst; j < len(at); j++ {
			min := time.Duration(float64(j-i+1-burst) / rps * float64(time.Second))
			if span := at[j].Sub(at[i]); span < min-time.Microsecond {
				t.Fatalf("admissions %d..%d span %s, the bucket needs %s", i, j, span, min)
			}
		}
	}
}

func TestRateLimitWaitBeyondDeadline(t *testing.T) {
	s := &script{replies: []reply{{status: 200}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := New(Options{Provider: "test", RatePerSecond: 0.01, Burst: 1})
	if _, err := post(t, c, srv.URL, "{}"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("{}"))
	_, err := c.Do(req)
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "exceed the context deadline") {
		t.Fatalf("err = %v, want a final rate-limit error", err)
	}
	if s.attempts() != 1 {
		t.Errorf("server saw %d requests, want 1", s.attempts())
	}
}

func TestSetGatewayHeaders(t *testing.T) {
	tests := []struct {
		name    string
		opts    *providers.GatewayOptions
		want    map[string]string
		wantErr bool
	}{
		{"nil", nil, map[string]string{}, false},
		{"all", &providers.GatewayOptions{CacheTTL: time.Hour, SkipCache: true, CacheKey: "k", RequestTimeout: 1500 * time.Millisecond,
			MaxAttempts: 3, Metadata: map[string]any{"team": "ai"}},
			map[string]string{"Cf-Aig-Cache-Ttl": "3600", "Cf-Aig-Skip-Cache": "true", "Cf-Aig-Cache-Key": "k",
				"Cf-Aig-Request-Timeout": "1500", "Cf-Aig-Max-Attempts": "3", "Cf-Aig-Metadata": `{"team":"ai"}`}, false},
		{"six metadata entries", &providers.GatewayOptions{Metadata: map[string]any{"a": "", "b": "", "c": "", "d": "", "e": "", "f": ""}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			err := SetGatewayHeaders(h, tt.opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			got := map[string]string{}
			for k := range h {
				got[k] = h.Get(k)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeGateway(t *testing.T) {
	base := &providers.GatewayOptions{CacheTTL: time.Hour, Metadata: map[string]any{"a": "1", "b": "2"}}
	over := &providers.GatewayOptions{SkipCache: true, Metadata: map[string]any{"b": "3"}}
	got := MergeGateway(base, over)
	want := &providers.GatewayOptions{CacheTTL: time.Hour, SkipCache: true, Metadata: map[string]any{"a": "1", "b": "3"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if base.Metadata["b"] != "2" {
		t.Error("MergeGateway changed its base")
	}
	if MergeGateway(nil, nil) != nil {
		t.Error("MergeGateway(nil, nil) != nil")
	}
}

// TestRedactBeforeShortening: a non-JSON error body is shortened to maxMessage for the
// message, but only after redaction, so a secret straddling the cut leaves no prefix of
// itself behind (issue 11, finding 6).
func TestRedactBeforeShortening(t *testing.T) {
	const secret = "sekret-PLANTED-1234567890"
	for _, pad := range []int{maxMessage - 20, maxMessage - 10, maxMessage - 3, maxMessage - 1, maxMessage} {
		t.Run(fmt.Sprint(pad), func(t *testing.T) {
			body := strings.Repeat("x", pad) + secret + " and more text after the token"
			s := &script{replies: []reply{{status: 400, header: map[string]string{"Content-Type": "text/plain"}, body: body}}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c := New(Options{Provider: "test", Secrets: []string{secret}, Retry: providers.RetryPolicy{Backoff: fast}})
			_, err := post(t, c, srv.URL, "{}")
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *providers.Error", err)
			}
			for _, text := range []string{pe.Message, err.Error()} {
				if strings.Contains(text, "sek") || strings.Contains(text, "PLANTED") {
					t.Errorf("message leaks a piece of the secret: %q", text)
				}
			}
			if len(pe.Message) > maxMessage+len("…") {
				t.Errorf("message is %d bytes, want at most %d: %q", len(pe.Message), maxMessage, pe.Message)
			}
		})
	}
}

// TestRateLimitWaitReported checks that a call the limiter holds tells the context's
// providers.WithRateWait function how long it waits (the run's progress view shows
// "waiting for rate limit"), and that an unheld call reports nothing.
func TestRateLimitWaitReported(t *testing.T) {
	s := &script{replies: []reply{{status: 200}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := New(Options{Provider: "test", RatePerSecond: 0.001, Burst: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := time.AfterFunc(10*time.Second, cancel) // without a report, do not wait 17 minutes
	defer stop.Stop()
	var waits []time.Duration
	ctx = providers.WithRateWait(ctx, func(d time.Duration) {
		waits = append(waits, d)
		cancel() // the wait is ~17 minutes: stop it once reported
	})
	for i, want := range []error{nil, context.Canceled} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("{}"))
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, want) {
			t.Fatalf("request %d: err = %v, want %v", i+1, err, want)
		}
		if len(waits) != i {
			t.Fatalf("after request %d: waits reported = %v, want %d", i+1, waits, i)
		}
	}
	if waits[0] < 16*time.Minute {
		t.Errorf("reported wait %s, want the limiter's ~1000s", waits[0])
	}
}
