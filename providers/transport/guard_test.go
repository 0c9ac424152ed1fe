package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
)

// endless writes chunk after chunk until the client goes away, counting what it wrote.
type endless struct {
	chunk   []byte
	pause   time.Duration // between chunks
	written atomic.Int64
}

func (e *endless) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	f := w.(http.Flusher)
	for {
		n, err := w.Write(e.chunk)
		e.written.Add(int64(n))
		if err != nil {
			return
		}
		f.Flush()
		if e.pause > 0 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(e.pause):
			}
		}
	}
}

// silent answers nothing until the client goes away; with headers set it first sends
// the headers and a few bytes.
type silent struct {
	headers bool
	hits    atomic.Int32
}

func (s *silent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	if s.headers {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
	}
	<-r.Context().Done()
}

func get(t *testing.T, c *http.Client, ctx context.Context, url string) (int64, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}

func TestBodyCap(t *testing.T) {
	tests := []struct {
		name    string
		maxBody int64
		want    int64 // bytes the caller may read at most
		wantMsg string
	}{
		{name: "explicit cap", maxBody: 1 << 20, want: 1 << 20, wantMsg: "response body is larger than the 1 MiB cap"},
		{name: "default cap", want: DefaultMaxBody, wantMsg: "response body is larger than the 64 MiB cap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &endless{chunk: []byte(strings.Repeat("data: {\"response\":\"x\"}\n\n", 1000))}
			srv := httptest.NewServer(e)
			defer srv.Close()
			c := New(Options{Provider: "test", MaxBody: tt.maxBody, Retry: providers.RetryPolicy{Attempts: 1}})
			n, err := get(t, c, context.Background(), srv.URL)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Code != "response_too_large" || pe.Retryable || !strings.Contains(pe.Message, tt.wantMsg) {
				t.Fatalf("err = %v, want a final response_too_large error saying %q", err, tt.wantMsg)
			}
			if n > tt.want {
				t.Errorf("caller read %d bytes, more than the cap %d", n, tt.want)
			}
		})
	}
}

func TestAttemptTimeouts(t *testing.T) {
	tests := []struct {
		name         string
		handler      http.Handler
		timeouts     Timeouts
		attempts     int
		wantMsg      string
		wantAttempts int32 // for silent servers
	}{
		{name: "server never sends headers", handler: &silent{}, timeouts: Timeouts{Header: 20 * time.Millisecond},
			attempts: 1, wantMsg: "no response headers within 20ms (timeouts.header)", wantAttempts: 1},
		{name: "header timeout is retried", handler: &silent{}, timeouts: Timeouts{Header: 20 * time.Millisecond},
			attempts: 2, wantMsg: "no response headers within 20ms (timeouts.header) (after 2 attempts)", wantAttempts: 2},
		{name: "body stalls", handler: &silent{headers: true}, timeouts: Timeouts{Idle: 20 * time.Millisecond},
			attempts: 1, wantMsg: "no data for 20ms while reading the response (timeouts.idle)", wantAttempts: 1},
		{name: "body trickles", handler: &endless{chunk: []byte("x"), pause: time.Millisecond},
			timeouts: Timeouts{Idle: time.Hour, Attempt: 50 * time.Millisecond},
			attempts: 1, wantMsg: "attempt took longer than 50ms (timeouts.attempt)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			c := New(Options{Provider: "test", Timeouts: tt.timeouts, Retry: providers.RetryPolicy{Attempts: tt.attempts, Backoff: fast}})
			_, err := get(t, c, context.Background(), srv.URL)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want it to say %q", err, tt.wantMsg)
			}
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v is a context error; the caller's context is alive", err)
			}
			if s, ok := tt.handler.(*silent); ok && s.hits.Load() != tt.wantAttempts {
				t.Errorf("server saw %d attempts, want %d", s.hits.Load(), tt.wantAttempts)
			}
		})
	}
}

// TestHeaderTimeoutIsProviderError checks that a timeout before any response is a
// retryable *providers.Error naming the provider.
func TestHeaderTimeoutIsProviderError(t *testing.T) {
	srv := httptest.NewServer(&silent{})
	defer srv.Close()
	c := New(Options{Provider: "test", Timeouts: Timeouts{Header: 10 * time.Millisecond}, Retry: providers.RetryPolicy{Attempts: 1}})
	_, err := get(t, c, context.Background(), srv.URL)
	var pe *providers.Error
	if !errors.As(err, &pe) || !pe.Retryable || pe.Provider != "test" {
		t.Fatalf("err = %#v, want a retryable *providers.Error", err)
	}
	var te *TimeoutError
	if !errors.As(err, &te) || te.Setting != "header" {
		t.Errorf("err = %v does not unwrap to the header *TimeoutError", err)
	}
}

func TestEffectiveTimeouts(t *testing.T) {
	deadline, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	set := Timeouts{Header: time.Second, Idle: 2 * time.Second, Attempt: 3 * time.Second}
	tests := []struct {
		name string
		opts Timeouts
		ctx  context.Context
		want Timeouts
	}{
		{"defaults", Timeouts{}, context.Background(),
			Timeouts{Header: DefaultHeaderTimeout, Idle: DefaultIdleTimeout, Attempt: DefaultAttemptTimeout}},
		{"streamed request waits less for headers", Timeouts{}, Streaming(context.Background()),
			Timeouts{Header: DefaultStreamHeaderTimeout, Idle: DefaultIdleTimeout, Attempt: DefaultAttemptTimeout}},
		{"a step deadline replaces the header and attempt defaults", Timeouts{}, deadline,
			Timeouts{Idle: DefaultIdleTimeout}},
		{"settings win over defaults", set, context.Background(), set},
		{"settings win over a step deadline", set, Streaming(deadline), set},
		{"partial settings", Timeouts{Idle: time.Second}, context.Background(),
			Timeouts{Header: DefaultHeaderTimeout, Idle: time.Second, Attempt: DefaultAttemptTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.opts.effective(tt.ctx)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTimeouts(t *testing.T) {
	tests := []struct {
		name    string
		raw     any
		want    Timeouts
		wantErr string
	}{
		{name: "unset", raw: nil},
		{name: "all", raw: map[string]any{"header": "30s", "idle": "1m", "attempt": 900},
			want: Timeouts{Header: 30 * time.Second, Idle: time.Minute, Attempt: 15 * time.Minute}},
		{name: "not an object", raw: "30s", wantErr: "setting timeouts: want an object with header, idle and attempt durations, got string"},
		{name: "unknown key", raw: map[string]any{"total": "1m"}, wantErr: "setting timeouts.total: unknown (known: header, idle, attempt)"},
		{name: "bad duration", raw: map[string]any{"idle": "soon"}, wantErr: `setting timeouts.idle: time: invalid duration "soon"`},
		{name: "wrong type", raw: map[string]any{"idle": true}, wantErr: `setting timeouts.idle: want a duration like "1h" or seconds, got bool`},
		{name: "not positive", raw: map[string]any{"header": "0s"}, wantErr: "setting timeouts.header: want a positive duration such as 30s, got 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTimeouts(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestOutputLimit(t *testing.T) {
	tests := []struct {
		maxTokens int
		want      int64
	}{
		{0, 8 << 20},
		{-1, 8 << 20},
		{10, 64 << 10},
		{1024, 64 << 10},
		{4096, 256 << 10},
	}
	for _, tt := range tests {
		if got := OutputLimit(tt.maxTokens); got != tt.want {
			t.Errorf("OutputLimit(%d) = %d, want %d", tt.maxTokens, got, tt.want)
		}
	}
	if pe := OutputOverrun("p", "m", 0); !strings.HasPrefix(pe.Message, "stream carried more than 8 MiB of output, more than any model answers (no max_tokens set") {
		t.Errorf("OutputOverrun without max_tokens = %q", pe.Message)
	}
	pe := OutputOverrun("p", "m", 4096)
	if want := "stream carried more than 256 KiB of output, far beyond max_tokens 4096 (at 64 bytes per token); it was cut"; pe.Message != want || pe.Retryable {
		t.Errorf("OutputOverrun = %q (retryable %v), want %q", pe.Message, pe.Retryable, want)
	}
}
