package sdkprovider_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/internal/sdkprovider"
	"github.com/aiflow/aiflow/providers/transport"
)

func TestShorten(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"short kept", "hello", "hello"},
		{"at the limit kept", strings.Repeat("a", 200), strings.Repeat("a", 200)},
		{"cut at 200 bytes", strings.Repeat("a", 201), strings.Repeat("a", 200) + "…"},
		{"cut before a split rune", strings.Repeat("a", 199) + "é" + "tail", strings.Repeat("a", 199) + "…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, sdkprovider.Shorten(tc.in)); diff != "" {
				t.Errorf("Shorten (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResponseMeta(t *testing.T) {
	resp := &http.Response{Header: http.Header{}}
	resp.Header.Set("request-id", "r1")
	resp.Header.Set("cf-aig-cache-status", "HIT")
	resp.Header.Set("x-other", "ignored")
	headers := []string{"request-id", "cf-aig-cache-status", "cf-aig-log-id"}
	cases := []struct {
		name  string
		resp  *http.Response
		model string
		want  providers.Meta
	}{
		{"headers present and model", resp, "m1", providers.Meta{"model": "m1", "request-id": "r1", "cf-aig-cache-status": "HIT"}},
		{"no model", resp, "", providers.Meta{"request-id": "r1", "cf-aig-cache-status": "HIT"}},
		{"no response", nil, "m1", providers.Meta{"model": "m1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, sdkprovider.ResponseMeta(tc.resp, tc.model, headers)); diff != "" {
				t.Errorf("meta (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKnown(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		want   *providers.Error
		wantOK bool
	}{
		{"model filled in", fmt.Errorf("post: %w", &providers.Error{Provider: "p", Status: 429}),
			&providers.Error{Provider: "p", Status: 429, Model: "m"}, true},
		{"model kept", &providers.Error{Provider: "p", Model: "other"}, &providers.Error{Provider: "p", Model: "other"}, true},
		{"plain error", errors.New("eof"), nil, false},
		{"context error", context.Canceled, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := sdkprovider.Known(tc.err, "m")
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			var inner *providers.Error
			if ok && (!errors.As(tc.err, &inner) || inner != got) {
				t.Error("Known returned a copy, not the error inside err")
			}
		})
	}
}

func TestNewClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error": {"type": "invalid_request_error", "message": "bad key sk-secret"}}`)
	}))
	defer srv.Close()
	var trace strings.Builder
	classified := 0
	classify := func(resp *http.Response, body []byte) *providers.Error {
		classified++
		return nil
	}
	c := providers.Config{HTTPClient: srv.Client(), Debug: &trace, Retry: providers.RetryPolicy{Attempts: 1}}
	client := sdkprovider.NewClient("kind", c, classify, []string{"sk-secret"}, transport.Timeouts{})
	resp, err := client.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a 400 answer is no error")
	}
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Provider != "kind" || pe.Status != 400 || strings.Contains(pe.Message, "sk-secret") {
		t.Errorf("error %#v, want a redacted 400 from provider kind", pe)
	}
	if classified != 1 || !strings.Contains(trace.String(), "400") {
		t.Errorf("classify called %d times, trace %q; want the provider's classify and a debug trace", classified, trace.String())
	}
}
