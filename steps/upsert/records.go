package upsert

import (
	"errors"
	"fmt"
	"maps"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/vectors"
)

// maxIDBytes is Vectorize's id limit.
const maxIDBytes = 64

// records turns a call's inputs into index records, checking that the lists line up.
func records(call *steps.Call) ([]providers.Vector, error) {
	raw, _ := call.Inputs["vectors"].([]any)
	texts, hasTexts := call.Inputs["texts"].([]string)
	ids, hasIDs := call.Inputs["ids"].([]string)
	source, _ := call.Inputs["source"].(string)
	ns, _ := call.Inputs["namespace"].(string)
	offset, _ := call.Inputs["offset"].(int)
	n := len(raw)
	if hasTexts && len(texts) != n {
		return nil, fmt.Errorf("texts has %d entries for %d vectors", len(texts), n)
	}
	if hasIDs && len(ids) != n {
		return nil, fmt.Errorf("ids has %d entries for %d vectors", len(ids), n)
	}
	if !hasIDs && source == "" && !hasTexts && n > 0 {
		return nil, errors.New("cannot derive stable ids: give ids, source or texts")
	}
	metas, err := metadata(call.Inputs["metadata"], n)
	if err != nil {
		return nil, err
	}
	out := make([]providers.Vector, n)
	for i, r := range raw {
		vals, err := vectors.Floats(r)
		if err != nil {
			if _, isNum := r.(float64); isNum {
				err = fmt.Errorf("%w: vectors takes a list of vectors (write [ ${ … } ] for one)", err)
			}
			return nil, fmt.Errorf("vectors[%d]: %w", i, err)
		}
		v := providers.Vector{Values: vals, Namespace: ns, Metadata: metas[i]}
		if hasTexts {
			v.Text = texts[i]
		}
		if source != "" {
			if v.Metadata == nil {
				v.Metadata = map[string]any{}
			}
			if _, set := v.Metadata["source"]; !set {
				v.Metadata["source"] = source
			}
		}
		switch {
		case hasIDs:
			v.ID = ids[i]
		default:
			v.ID = derivedID(source, offset+i, v.Text)
		}
		if v.ID == "" || len(v.ID) > maxIDBytes {
			return nil, fmt.Errorf("ids[%d]: an id must be 1 to %d bytes, got %d", i, maxIDBytes, len(v.ID))
		}
		out[i] = v
	}
	return out, nil
}

// metadata spreads the metadata input over n vectors: a list gives one object each, an
// object is copied to every vector. Each vector gets its own map.
func metadata(v any, n int) ([]map[string]any, error) {
	out := make([]map[string]any, n)
	switch m := v.(type) {
	case nil:
	case map[string]any:
		for i := range out {
			out[i] = maps.Clone(m)
		}
	case []any:
		if len(m) != n {
			return nil, fmt.Errorf("metadata has %d entries for %d vectors", len(m), n)
		}
		for i, e := range m {
			obj, ok := e.(map[string]any)
			if !ok && e != nil {
				return nil, fmt.Errorf("metadata[%d]: expected an object, got %s", i, spec.DescribeValue(e))
			}
			out[i] = maps.Clone(obj)
		}
	default:
		return nil, fmt.Errorf("metadata: expected an object or a list of objects, got %s", spec.DescribeValue(v))
	}
	return out, nil
}
