// Package bucketget implements the "bucket-get" step kind: it reads an object of a bucket
// resource into a blob, and also as text when it is text.
package bucketget

import (
	"context"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/bucketref"
)

func init() { steps.MustRegister(Kind) }

// maxText is the largest object also returned as text (what file() reads).
const maxText = spec.MaxReadBytes

// Kind describes the bucket-get step to the registry.
var Kind = steps.Kind{
	Name:    "bucket-get",
	Summary: "Read an object of a bucket as a blob (and as text when it is text).",
	Inputs: []steps.Field{
		bucketref.Field,
		{Name: "key", Type: steps.String, Required: true, Doc: "The object key, e.g. ${ each.value } over a bucket-list step's keys."},
	},
	Outputs: []steps.Field{
		{Name: "blob", Type: steps.Blob, Doc: "The object's bytes, by reference, with their media type."},
		{Name: "text", Type: steps.String, Doc: "The content as text when it is UTF-8 text of at most 32 MiB; null otherwise."},
		{Name: "key", Type: steps.String, Doc: "The key read."},
		{Name: "content_type", Type: steps.String, Doc: "The object's media type as stored (or sniffed when it has none)."},
		{Name: "metadata", Type: steps.Object, Doc: "The object's custom metadata."},
		{Name: "size", Type: steps.Int, Doc: "The object's size in bytes."},
	},
	Version: "1",
	New: func(s *spec.Step) (steps.Step, spec.Diagnostics) {
		return getter{}, bucketref.CheckKeyLiteral(s, "key", false)
	},
}

type getter struct{}

var _ steps.Step = getter{}

// Run streams the object into the blob store.
func (getter) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	key, _ := call.Inputs["key"].(string)
	if err := providers.CheckKey(key); err != nil {
		return steps.Result{}, fmt.Errorf("key: %w", err)
	}
	b, name, err := bucketref.Open(ctx, call)
	if err != nil {
		return steps.Result{}, err
	}
	r, obj, err := b.Get(ctx, key)
	if err != nil {
		return steps.Result{}, fmt.Errorf("bucket %s: %w", name, err)
	}
	defer r.Close()
	store := steps.Blobs(call.Env)
	mt := blob.Base(obj.ContentType)
	if mt == blob.Generic || mt == "binary/octet-stream" {
		mt = "" // stored without a type: sniff the bytes and the key's extension
	}
	bl, err := store.Put(r, key, mt)
	if err != nil {
		return steps.Result{}, fmt.Errorf("bucket %s: %w", name, err)
	}
	meta := map[string]any{}
	for k, v := range obj.Metadata {
		meta[strings.ToLower(k)] = v
	}
	out := map[string]any{"blob": bl.Value(), "text": nil, "key": key, "content_type": bl.MediaType, "metadata": meta, "size": bl.Size}
	if t, ok := asText(store, bl); ok {
		out["text"] = t
	}
	return steps.Result{Output: out}, nil
}

// asText reads a textual blob of at most maxText bytes.
func asText(store *blob.Store, b blob.Blob) (string, bool) {
	k := blob.Kind(b.MediaType)
	textual := k == "text" || strings.HasSuffix(b.MediaType, "json") || strings.HasSuffix(b.MediaType, "xml") || b.MediaType == "image/svg+xml"
	if !textual || b.Size > maxText {
		return "", false
	}
	rc, err := store.Open(b)
	if err != nil {
		return "", false
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxText+1))
	if err != nil || !utf8.Valid(data) {
		return "", false
	}
	return string(data), true
}
