package vectorize_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/vectorize"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func TestRetries(t *testing.T) {
	tests := []struct {
		name   string
		fault  wiretest.Fault
		times  int
		wantOK bool
	}{
		{"global rate limit", wiretest.CFGlobalRateLimitFault("0"), 2, true},
		{"edge 1015 page", wiretest.CFEdgeRateLimitFault(""), 1, true},
		{"503 with a plain body", wiretest.CFUnavailableFault(), 3, true},
		{"500 envelope", wiretest.Fault{Status: 500, Code: "10001", Message: "internal"}, 1, true},
		{"retries exhausted", wiretest.CFUnavailableFault(), 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			var w waits
			x := open(t, newBackend(t, cf, nil, vectorize.WithBackoffHook(w.hook)), spec("kb", 2, "cosine", nil, nil))
			f := tt.fault
			f.Times, f.Path = tt.times, "/client/v4/accounts/"+cf.Account()+"/vectorize/v2/indexes/kb/query"
			cf.Faults.Add(f)
			_, err := x.Query(context.Background(), providers.VectorQuery{Vector: []float32{1, 0}})
			attempts := count(cf, "POST", "/kb/query")
			if tt.wantOK {
				if err != nil || attempts != tt.times+1 || w.n() != tt.times {
					t.Errorf("err %v after %d attempts and %d backoffs, want success after %d", err, attempts, w.n(), tt.times+1)
				}
				return
			}
			pe := providerError(t, err)
			if !pe.Retryable || pe.Status != 503 || pe.Provider != "vectorize" || attempts != 4 {
				t.Errorf("error %+v after %d attempts, want retryable 503 after 4", pe, attempts)
			}
			wantErr(t, err, `vectorize index "kb": querying: vectorize: HTTP 503`, "upstream connect error", "(after 4 attempts)")
		})
	}
}

func TestNoRetryOnBadRequest(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	x := open(t, newBackend(t, cf, nil), spec("kb", 2, "cosine", nil, nil))
	cf.Faults.Add(wiretest.Fault{Status: 400, Code: "40026", Message: "Failed to parse the request body as JSON"})
	_, err := x.Query(context.Background(), providers.VectorQuery{Vector: []float32{1, 0}})
	pe := providerError(t, err)
	if pe.Retryable || pe.Code != "40026" || count(cf, "POST", "/kb/query") != 1 {
		t.Errorf("error %+v after %d attempts, want one final 400/40026", pe, count(cf, "POST", "/kb/query"))
	}
}

func TestNotFoundIsNotAnError(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	b := newBackend(t, cf, nil)
	// Vectorize has also been seen answering a missing index with HTTP 400 and code 3000.
	cf.Faults.Add(wiretest.Fault{Status: 400, Code: "3000", Message: `vectorize.index.not_found - Index name "kb"`})
	if _, ok, err := b.Describe(context.Background(), spec("kb", 2, "cosine", nil, nil)); ok || err != nil {
		t.Errorf("Describe = ok %v, err %v; want not found", ok, err)
	}
	// A routing 404 (wrong account) is an error, not a missing index.
	bad := newBackend(t, cf, map[string]any{"account_id": "someone-else"})
	_, ok, err := bad.Describe(context.Background(), spec("kb", 2, "cosine", nil, nil))
	if ok || err == nil {
		t.Fatalf("Describe with a wrong account: ok %v, err %v; want an error", ok, err)
	}
	wantErr(t, err, "HTTP 404 (code 7003)")
}

func TestSecretsNeverInErrors(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	var debug bytes.Buffer
	b := newBackend(t, cf, nil, vectorize.WithDebug(&debug))
	x := open(t, b, spec("kb", 2, "cosine", nil, nil))
	cf.Faults.Add(wiretest.Fault{Status: 400, Body: "token " + cf.Token() + " is not allowed here"})
	_, err := x.Query(context.Background(), providers.VectorQuery{Vector: []float32{1, 0}})
	wantErr(t, err, "token [REDACTED] is not allowed")

	wrong := "wrong-secret-token-42"
	bad := newBackend(t, cf, map[string]any{"api_token": wrong}, vectorize.WithDebug(&debug))
	_, err = bad.Open(context.Background(), spec("kb", 2, "cosine", nil, nil), false)
	pe := providerError(t, err)
	if pe.Status != 401 || pe.Code != "10000" {
		t.Errorf("wrong token: %+v, want 401/10000", pe)
	}
	for _, secret := range []string{cf.Token(), wrong} {
		if strings.Contains(err.Error(), secret) || strings.Contains(debug.String(), secret) {
			t.Errorf("secret %q leaked: error %q, debug %q", secret, err, debug.String())
		}
	}
	if debug.Len() == 0 {
		t.Error("no debug trace written")
	}
}
