// Package bucketput implements the "bucket-put" step kind: it stores a blob (an image,
// audio, a document) or a text under a key of a bucket resource.
package bucketput

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/bucketref"
)

func init() { steps.MustRegister(Kind) }

// Kind describes the bucket-put step to the registry.
var Kind = steps.Kind{
	Name:    "bucket-put",
	Summary: "Store a blob or a text under a key of a bucket.",
	Inputs: []steps.Field{
		bucketref.Field,
		{Name: "key", Type: steps.String, Required: true, Doc: "The object key: a relative path such as images/cat.png (no .., no leading /, no control characters)."},
		{Name: "value", Type: steps.Any, Required: true, Doc: "What to store: a blob (stored as its bytes, by default with its media type), a text, or any other value (stored as JSON)."},
		{Name: "content_type", Type: steps.String, Doc: "The object's media type; default the blob's, text/plain for a text, application/json otherwise."},
		{Name: "metadata", Type: steps.Object, Doc: "Custom metadata: string values under lowercase keys."},
	},
	Outputs: []steps.Field{
		{Name: "key", Type: steps.String, Doc: "The key written."},
		{Name: "size", Type: steps.Int, Doc: "Bytes written."},
		{Name: "content_type", Type: steps.String, Doc: "The object's media type."},
		{Name: "etag", Type: steps.String, Doc: "The object's ETag as the store reports it."},
	},
	Version: "1",
	New: func(s *spec.Step) (steps.Step, spec.Diagnostics) {
		return putter{}, bucketref.CheckKeyLiteral(s, "key", false)
	},
}

type putter struct{}

var _ steps.Step = putter{}

// Run writes the value.
func (putter) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	key, _ := call.Inputs["key"].(string)
	if err := providers.CheckKey(key); err != nil {
		return steps.Result{}, fmt.Errorf("key: %w", err)
	}
	meta, err := metadata(call.Inputs["metadata"])
	if err != nil {
		return steps.Result{}, err
	}
	b, name, err := bucketref.Open(ctx, call)
	if err != nil {
		return steps.Result{}, err
	}
	body, size, ctype, closeBody, err := content(call)
	if err != nil {
		return steps.Result{}, err
	}
	defer closeBody()
	if ct, _ := call.Inputs["content_type"].(string); ct != "" {
		ctype = ct
	}
	obj, err := b.Put(ctx, key, body, size, ctype, meta)
	if err != nil {
		return steps.Result{}, fmt.Errorf("bucket %s: %w", name, err)
	}
	return steps.Result{Output: map[string]any{"key": obj.Key, "size": obj.Size, "content_type": ctype, "etag": obj.ETag}}, nil
}

// content is the value as a body: a blob's file (hash checked), a text, or JSON.
func content(call *steps.Call) (io.Reader, int64, string, func(), error) {
	v := call.Inputs["value"]
	if bl, ok := blob.FromValue(v); ok {
		f, err := steps.Blobs(call.Env).OpenFile(bl)
		if err != nil {
			return nil, 0, "", nil, fmt.Errorf("value: %w", err)
		}
		return f, bl.Size, bl.MediaType, func() { f.Close() }, nil
	}
	if s, ok := v.(string); ok {
		return strings.NewReader(s), int64(len(s)), "text/plain; charset=utf-8", func() {}, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, 0, "", nil, fmt.Errorf("value: %w", err)
	}
	return strings.NewReader(string(raw)), int64(len(raw)), "application/json", func() {}, nil
}

// metadata checks custom metadata: string values under lowercase ASCII keys (what S3
// and R2 send as x-amz-meta-* headers).
func metadata(v any) (map[string]string, error) {
	m, _ := v.(map[string]any)
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		for _, r := range k {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return nil, fmt.Errorf("metadata: key %q: use lowercase letters, digits, - and _", k)
			}
		}
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("metadata.%s: want a string, got %s", k, spec.DescribeValue(x))
		}
		out[k] = s
	}
	return out, nil
}
