// Package bucketref opens the bucket resource a bucket step names.
package bucketref

import (
	"context"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// Open returns the objects of the bucket in the call's "bucket" input.
func Open(ctx context.Context, call *steps.Call) (providers.Bucket, string, error) {
	ref, _ := call.Inputs["bucket"].(steps.ResourceRef)
	if ref.Kind != "" && ref.Kind != "bucket" {
		return nil, "", fmt.Errorf("bucket: %q is a %s resource, not a bucket", ref.Name, ref.Kind)
	}
	be, ok := call.Env.(steps.BucketEnv)
	if !ok {
		return nil, "", fmt.Errorf("bucket: this run cannot open buckets")
	}
	b, err := be.Bucket(ctx, ref.Name)
	return b, ref.Name, err
}

// Field is the bucket input every bucket step takes.
var Field = steps.Field{Name: "bucket", Type: steps.Resource, Required: true, Doc: "The bucket resource, e.g. ${ resources.images }."}

// CheckKeyLiteral reports a literal key: input that the bucket would refuse, at validate.
func CheckKeyLiteral(s *spec.Step, input string, prefix bool) spec.Diagnostics {
	in := s.Input(input)
	if in == nil || in.Value == nil || in.Value.Node == nil || in.Value.HasExpr() || in.Value.Node.Kind != yaml.ScalarNode {
		return nil
	}
	check := providers.CheckKey
	if prefix {
		check = providers.CheckPrefix
	}
	if err := check(in.Value.Scalar()); err != nil {
		return spec.Diagnostics{{Severity: spec.Error, Pos: in.Value.Pos, Path: in.Value.Path, Summary: "invalid " + input, Detail: err.Error()}}
	}
	return nil
}
