// Package bucketlist implements the "bucket-list" step kind: the keys of a bucket under a
// prefix, e.g. as the for_each source of an ingest.
package bucketlist

import (
	"context"
	"fmt"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/bucketref"
)

func init() { steps.MustRegister(Kind) }

// maxLimit bounds one listing, so a huge bucket cannot make a list that exhausts memory.
const maxLimit = 100000

// Kind describes the bucket-list step to the registry.
var Kind = steps.Kind{
	Name:    "bucket-list",
	Summary: "List the keys of a bucket under a prefix.",
	Inputs: []steps.Field{
		bucketref.Field,
		{Name: "prefix", Type: steps.String, Default: "", Doc: "Only keys that start with this, e.g. docs/."},
		{Name: "limit", Type: steps.Int, Default: 1000, Doc: "Most keys to return (1 to 100000), in key order."},
	},
	Outputs: []steps.Field{
		{Name: "keys", Type: steps.Strings, Doc: "The keys, in order: a for_each source."},
		{Name: "objects", Type: steps.List, Doc: "One {key, size, etag} per key."},
		{Name: "count", Type: steps.Int, Doc: "How many keys."},
	},
	Version: "1",
	New: func(s *spec.Step) (steps.Step, spec.Diagnostics) {
		return lister{}, bucketref.CheckKeyLiteral(s, "prefix", true)
	},
}

type lister struct{}

var _ steps.Step = lister{}

// Run lists the bucket.
func (lister) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	prefix, _ := call.Inputs["prefix"].(string)
	if err := providers.CheckPrefix(prefix); err != nil {
		return steps.Result{}, fmt.Errorf("prefix: %w", err)
	}
	limit, _ := call.Inputs["limit"].(int)
	if limit < 1 || limit > maxLimit {
		return steps.Result{}, fmt.Errorf("limit: want 1 to %d, got %d", maxLimit, limit)
	}
	b, name, err := bucketref.Open(ctx, call)
	if err != nil {
		return steps.Result{}, err
	}
	objs, err := b.List(ctx, prefix, limit)
	if err != nil {
		return steps.Result{}, fmt.Errorf("bucket %s: %w", name, err)
	}
	keys := make([]any, len(objs))
	list := make([]any, len(objs))
	for i, o := range objs {
		keys[i] = o.Key
		list[i] = map[string]any{"key": o.Key, "size": o.Size, "etag": o.ETag}
	}
	return steps.Result{Output: map[string]any{"keys": keys, "objects": list, "count": len(objs)}}, nil
}
