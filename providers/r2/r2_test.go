package r2_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/r2"
	"github.com/aiflow/aiflow/providers/r2/r2test"
)

// onlyReader hides a reader's Seek, as a hash-checking blob reader does.
type onlyReader struct{ io.Reader }

// TestR2AgainstS3Server drives the backend against a real S3-compatible server:
// bucket lifecycle, put (seekable and streaming bodies) with content type and metadata,
// get, list under a prefix, missing keys and refused keys.
func TestR2AgainstS3Server(t *testing.T) {
	srv := r2test.Start(t)
	ctx := context.Background()
	be, err := r2.New(providers.BucketConfig{Settings: map[string]any{"endpoint": srv.Endpoint, "access_key_id": srv.AccessKey, "secret_access_key": srv.Secret}})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := be.Exists(ctx, "media"); err != nil || ok {
		t.Fatalf("Exists before create = %v, %v", ok, err)
	}
	if err := be.Create(ctx, "media"); err != nil {
		t.Fatal(err)
	}
	if ok, err := be.Exists(ctx, "media"); err != nil || !ok {
		t.Fatalf("Exists after create = %v, %v", ok, err)
	}
	b, err := be.Open("media")
	if err != nil {
		t.Fatal(err)
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0xfe, 0}, 70000)...)
	if _, err := b.Put(ctx, "images/cat.png", bytes.NewReader(png), int64(len(png)), "image/png", map[string]string{"prompt": "a cat"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "images/dog.png", onlyReader{bytes.NewReader(png[:100])}, -1, "image/png", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "notes/readme.txt", strings.NewReader("hello"), 5, "text/plain", nil); err != nil {
		t.Fatal(err)
	}
	r, obj, err := b.Get(ctx, "images/cat.png")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, png) {
		t.Fatalf("get: %d bytes, %v", len(got), err)
	}
	if obj.ContentType != "image/png" || obj.Metadata["prompt"] != "a cat" || obj.Size != int64(len(png)) {
		t.Errorf("object = %+v", obj)
	}
	list, err := b.List(ctx, "images/", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Key != "images/cat.png" || list[1].Key != "images/dog.png" || list[1].Size != 100 {
		t.Errorf("list images/ = %+v", list)
	}
	if one, _ := b.List(ctx, "", 1); len(one) != 1 {
		t.Errorf("list with limit 1 = %+v", one)
	}
	if _, _, err := b.Get(ctx, "images/none.png"); !errors.Is(err, providers.ErrObjectNotFound) {
		t.Errorf("get of a missing key: %v, want ErrObjectNotFound", err)
	}
	for _, bad := range []string{"../etc/passwd", "/abs", "a\x00b", "a//b"} {
		if _, err := b.Put(ctx, bad, strings.NewReader("x"), 1, "", nil); err == nil {
			t.Errorf("Put(%q) accepted", bad)
		}
	}
	for _, k := range []string{"images/cat.png", "images/dog.png", "notes/readme.txt"} {
		if err := b.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := be.Delete(ctx, "media"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := be.Exists(ctx, "media"); ok {
		t.Error("bucket still exists after delete")
	}
}
