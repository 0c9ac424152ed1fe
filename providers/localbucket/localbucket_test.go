package localbucket_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/localbucket"
)

// TestLocalBucket: keys that are prefixes of each other coexist (no key is a path),
// content type and metadata come back, listing is by prefix in key order, and a bucket
// with objects is not deleted.
func TestLocalBucket(t *testing.T) {
	ctx := context.Background()
	be, err := localbucket.New(providers.BucketConfig{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := be.Exists(ctx, "docs"); ok {
		t.Fatal("exists before create")
	}
	if err := be.Create(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	b, _ := be.Open("docs")
	for _, k := range []string{"a", "a/b", "a/c", "z"} {
		if _, err := b.Put(ctx, k, strings.NewReader("v-"+k), -1, "text/plain", map[string]string{"k": k}); err != nil {
			t.Fatal(err)
		}
	}
	r, obj, err := b.Get(ctx, "a/b")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != "v-a/b" || obj.ContentType != "text/plain" || obj.Metadata["k"] != "a/b" || obj.Size != 5 {
		t.Errorf("get a/b = %q, %+v", got, obj)
	}
	list, err := b.List(ctx, "a/", 0)
	if err != nil || len(list) != 2 || list[0].Key != "a/b" || list[1].Key != "a/c" {
		t.Errorf("list a/ = %+v, %v", list, err)
	}
	if _, _, err := b.Get(ctx, "nope"); !errors.Is(err, providers.ErrObjectNotFound) {
		t.Errorf("missing key: %v", err)
	}
	if _, err := b.Put(ctx, "../escape", strings.NewReader("x"), 1, "", nil); err == nil {
		t.Error("a key with .. was accepted")
	}
	if err := be.Delete(ctx, "docs"); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("delete of a non-empty bucket: %v", err)
	}
	for _, k := range []string{"a", "a/b", "a/c", "z"} {
		if err := b.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := be.Delete(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
}
