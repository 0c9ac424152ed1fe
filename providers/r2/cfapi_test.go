package r2_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/r2"
	"github.com/aiflow/aiflow/providers/r2/r2test"
)

// cfR2 emulates the Cloudflare API's R2 bucket endpoints (GET/DELETE
// /accounts/{id}/r2/buckets/{name}, POST /accounts/{id}/r2/buckets {name}) in the
// published envelope, creating and deleting the buckets on the real S3 server so the
// objects API sees them. A missing bucket is 404 with error 10006, as the API answers.
type cfR2 struct {
	t       *testing.T
	s3      *s3.Client
	account string
	token   string
	mu      sync.Mutex
	calls   []string
}

func (e *cfR2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.calls = append(e.calls, r.Method+" "+r.URL.Path)
	e.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+e.token {
		envelope(w, http.StatusUnauthorized, nil, 10000, "Authentication error")
		return
	}
	base := "/client/v4/accounts/" + e.account + "/r2/buckets"
	ctx := r.Context()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == base:
		var body struct{ Name string }
		json.NewDecoder(r.Body).Decode(&body)
		if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(body.Name)}); err != nil {
			envelope(w, http.StatusConflict, nil, 10004, "The bucket you tried to create already exists")
			return
		}
		envelope(w, http.StatusOK, map[string]any{"name": body.Name, "creation_date": time.Now().UTC().Format(time.RFC3339), "location": "ENAM"}, 0, "")
	case strings.HasPrefix(r.URL.Path, base+"/"):
		name := strings.TrimPrefix(r.URL.Path, base+"/")
		if _, err := e.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); err != nil {
			envelope(w, http.StatusNotFound, nil, 10006, "The specified bucket does not exist.")
			return
		}
		if r.Method == http.MethodDelete {
			if _, err := e.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)}); err != nil {
				envelope(w, http.StatusConflict, nil, 10008, "The bucket you tried to delete is not empty.")
				return
			}
			envelope(w, http.StatusOK, map[string]any{}, 0, "")
			return
		}
		envelope(w, http.StatusOK, map[string]any{"name": name, "location": "ENAM"}, 0, "")
	default:
		http.NotFound(w, r)
	}
}

func envelope(w http.ResponseWriter, status int, result any, code int, msg string) {
	body := map[string]any{"success": status < 300, "errors": []any{}, "messages": []any{}, "result": result}
	if code != 0 {
		body["errors"] = []any{map[string]any{"code": code, "message": msg}}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// TestR2BucketsThroughCloudflareAPI: with a provider's account, buckets are created,
// read and deleted through the Cloudflare API (a 404/10006 answer is "does not exist"),
// while objects go to the S3 endpoint, here the real S3 server.
func TestR2BucketsThroughCloudflareAPI(t *testing.T) {
	srv := r2test.Start(t)
	client := s3.New(s3.Options{Region: "auto", BaseEndpoint: aws.String(srv.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.Secret, "")})
	em := &cfR2{t: t, s3: client, account: "acct123", token: "cf-token-abcdef"}
	api := httptest.NewServer(em)
	defer api.Close()
	be, err := r2.New(providers.BucketConfig{
		Account:  &providers.CloudflareAccount{ID: em.account, Token: em.token, BaseURL: api.URL + "/client/v4"},
		Settings: map[string]any{"endpoint": srv.Endpoint, "access_key_id": srv.AccessKey, "secret_access_key": srv.Secret},
		Retry:    providers.RetryPolicy{Attempts: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if ok, err := be.Exists(ctx, "photos"); err != nil || ok {
		t.Fatalf("Exists before create = %v, %v", ok, err)
	}
	if err := be.Create(ctx, "photos"); err != nil {
		t.Fatal(err)
	}
	if ok, err := be.Exists(ctx, "photos"); err != nil || !ok {
		t.Fatalf("Exists after create = %v, %v", ok, err)
	}
	b, _ := be.Open("photos")
	if _, err := b.Put(ctx, "a.txt", strings.NewReader("hi"), 2, "text/plain", nil); err != nil {
		t.Fatal(err)
	}
	r, _, err := b.Get(ctx, "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != "hi" {
		t.Errorf("got %q", got)
	}
	if err := b.Delete(ctx, "a.txt"); err != nil {
		t.Fatal(err)
	}
	if err := be.Delete(ctx, "photos"); err != nil {
		t.Fatal(err)
	}
	if err := be.Delete(ctx, "photos"); err != nil {
		t.Errorf("deleting a missing bucket: %v", err)
	}
	want := []string{"GET /client/v4/accounts/acct123/r2/buckets/photos", "POST /client/v4/accounts/acct123/r2/buckets",
		"GET /client/v4/accounts/acct123/r2/buckets/photos", "DELETE /client/v4/accounts/acct123/r2/buckets/photos",
		"DELETE /client/v4/accounts/acct123/r2/buckets/photos"}
	if strings.Join(em.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("Cloudflare API calls:\n%s\nwant:\n%s", strings.Join(em.calls, "\n"), strings.Join(want, "\n"))
	}
}
