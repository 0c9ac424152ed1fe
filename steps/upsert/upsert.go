// Package upsert implements the "upsert" step kind: it writes vectors, their texts and
// metadata into a vector-index resource.
//
// Ids are deterministic when the flow gives none, so running an ingest flow again
// overwrites the vectors it wrote before instead of adding duplicates: with a source, the
// id of the vector at chunk index i is the first 32 hex digits of sha256(source + ":" + i)
// (i counts from offset); without a source it is the same digest of the vector's text.
//
// An upsert is a side effect, so the kind is not deterministic: the engine does not cache
// it unless the step sets cache: itself.
package upsert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

func init() { steps.MustRegister(Kind) }

// Kind describes the upsert step to the registry.
var Kind = steps.Kind{
	Name:    "upsert",
	Summary: "Write vectors, texts and metadata into a vector index; ids are deterministic.",
	Inputs: []steps.Field{
		{Name: "index", Type: steps.Resource, Required: true, Doc: "The vector index, e.g. ${ resources.kb }."},
		{Name: "vectors", Type: steps.List, Required: true, Doc: "Vectors to write, e.g. ${ steps.embed.output.vectors }."},
		{Name: "texts", Type: steps.Strings, Doc: "The text of each vector, kept for keyword search and returned with matches."},
		{Name: "ids", Type: steps.Strings, Doc: "An id per vector (at most 64 bytes); derived from source or text when absent."},
		{Name: "metadata", Type: steps.Any, Doc: "A metadata object per vector, or one object for all of them."},
		{Name: "source", Type: steps.String, Doc: "Where the vectors come from (a file name); part of derived ids and stored as metadata source."},
		{Name: "offset", Type: steps.Int, Default: 0, Doc: "Chunk index of the first vector, for derived ids (e.g. ${ each.index } when each item is one chunk)."},
		{Name: "namespace", Type: steps.String, Doc: "Namespace to write into; queries see one namespace at a time."},
	},
	Outputs: []steps.Field{
		{Name: "count", Type: steps.Int, Doc: "Number of vectors written."},
		{Name: "ids", Type: steps.Strings, Doc: "The id of each vector, in input order."},
	},
	Keys:          []string{"batch"},
	Version:       "1",
	Deterministic: false,
	New:           func(*spec.Step) (steps.Step, spec.Diagnostics) { return upserter{}, nil },
}

// maxPerWrite bounds one Upsert call (Vectorize takes 1000 through a binding, 5000 over HTTP).
const maxPerWrite = 1000

type upserter struct{}

var (
	_ steps.Step      = upserter{}
	_ steps.BatchStep = upserter{}
)

// Run writes the call's vectors.
func (upserter) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	res, err := upserter{}.RunBatch(ctx, []*steps.Call{call})
	if err != nil {
		return steps.Result{}, err
	}
	return res[0], nil
}

// RunBatch writes the vectors of every call, one write per index and up to maxPerWrite
// vectors, in call order (a later call's vector wins over an earlier one with the same id).
func (upserter) RunBatch(ctx context.Context, calls []*steps.Call) ([]steps.Result, error) {
	out := make([]steps.Result, len(calls))
	pending := map[string][]providers.Vector{}
	var order []string
	envs := map[string]steps.Env{}
	for i, call := range calls {
		ref, _ := call.Inputs["index"].(steps.ResourceRef)
		vs, err := records(call)
		if err != nil {
			return nil, itemErr(call, calls, err)
		}
		if len(vs) > 0 {
			if err := checkDims(ctx, call.Env, ref.Name, vs); err != nil {
				return nil, itemErr(call, calls, err)
			}
		}
		if _, seen := pending[ref.Name]; !seen {
			order = append(order, ref.Name)
			envs[ref.Name] = call.Env
		}
		pending[ref.Name] = append(pending[ref.Name], vs...)
		ids := make([]string, len(vs))
		for j, v := range vs {
			ids[j] = v.ID
		}
		out[i] = steps.Result{Output: map[string]any{"count": len(vs), "ids": ids}}
	}
	for _, name := range order {
		if err := write(ctx, envs[name], name, pending[name]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func itemErr(call *steps.Call, calls []*steps.Call, err error) error {
	if len(calls) > 1 && call.Item >= 0 {
		return fmt.Errorf("item %d: %w", call.Item, err)
	}
	return err
}

// write upserts vs into the index name, deduplicated by id (last wins), in slices of
// maxPerWrite.
func write(ctx context.Context, env steps.Env, name string, vs []providers.Vector) error {
	vs = dedupe(vs)
	if len(vs) == 0 {
		return nil
	}
	idx, _, err := env.VectorIndex(ctx, name)
	if err != nil {
		return err
	}
	for start := 0; start < len(vs); start += maxPerWrite {
		part := vs[start:min(start+maxPerWrite, len(vs))]
		if _, err := idx.Upsert(ctx, part); err != nil {
			return fmt.Errorf("upserting %d vectors into %s: %w", len(part), name, err)
		}
	}
	return nil
}

func dedupe(vs []providers.Vector) []providers.Vector {
	last := make(map[string]int, len(vs))
	for i, v := range vs {
		last[v.ID] = i
	}
	if len(last) == len(vs) {
		return vs
	}
	out := make([]providers.Vector, 0, len(last))
	for i, v := range vs {
		if last[v.ID] == i {
			out = append(out, v)
		}
	}
	return out
}

// checkDims compares every vector's size with the index's.
func checkDims(ctx context.Context, env steps.Env, name string, vs []providers.Vector) error {
	idx, is, err := env.VectorIndex(ctx, name)
	if err != nil {
		return err
	}
	want := is.Dimensions
	if want == 0 {
		info, err := idx.Info(ctx)
		if err != nil {
			return fmt.Errorf("reading index %s: %w", name, err)
		}
		want = info.Dimensions
	}
	if want == 0 {
		return nil
	}
	for i, v := range vs {
		if len(v.Values) != want {
			return fmt.Errorf("vectors[%d] has %d dimensions but index %s has %d: embed with the model the index is made for, or change resources.%s.dimensions",
				i, len(v.Values), name, want, name)
		}
	}
	return nil
}

// derivedID is the id of the vector at chunk index i of source, or of a text.
func derivedID(source string, i int, text string) string {
	key := "text:" + text
	if source != "" {
		key = source + ":" + strconv.Itoa(i)
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:32]
}
