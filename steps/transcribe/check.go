package transcribe

import (
	"encoding/json"
	"fmt"

	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

// option is a model option the step sets, with where it is written.
type option struct {
	name string // the input: language, prompt or vad
	val  *spec.Value
}

// modelInputs are the names the published Workers AI schemas give the step's options.
var modelInputs = map[string]string{"language": "language", "prompt": "initial_prompt", "vad": "vad_filter"}

// newStep checks the literal inputs of a transcribe step and notes the model options it
// sets, which CheckModel holds against the model's published schema at validate time.
func newStep(s *spec.Step) (steps.Step, spec.Diagnostics) {
	var d spec.Diagnostics
	t := &transcriber{}
	if s == nil {
		return t, nil
	}
	for _, c := range []struct {
		key      string
		min, max int
	}{{"max_seconds", 1, 0}, {"parallel", 1, MaxParallel}} {
		set := s.Input(c.key)
		if set == nil || set.Value.HasExpr() {
			continue
		}
		n, ok := spec.NodeToAny(set.Value.Node).(int)
		if ok && (n < c.min || c.max > 0 && n > c.max) {
			want := fmt.Sprintf("at least %d", c.min)
			if c.max > 0 {
				want = fmt.Sprintf("%d to %d", c.min, c.max)
			}
			d.Errorf(set.Value.Pos, set.Value.Path, "%s must be %s, got %d", c.key, want, n)
		}
	}
	for _, name := range []string{"language", "prompt", "vad"} {
		set := s.Input(name)
		if set == nil {
			continue
		}
		if !set.Value.HasExpr() {
			switch v := spec.NodeToAny(set.Value.Node).(type) {
			case bool:
				if !v {
					continue
				}
			case string:
				if v == "" {
					continue
				}
			}
		}
		t.options = append(t.options, option{name: name, val: set.Value})
	}
	return t, d
}

var _ steps.ModelChecker = (*transcriber)(nil)

// CheckModel refuses options the model does not take: a Workers AI model whose
// published input schema lacks the option (whisper and whisper-tiny-en take only the
// audio), and vad on OpenAI, which has no such field.
func (t *transcriber) CheckModel(providerKind, modelID string) spec.Diagnostics {
	var d spec.Diagnostics
	switch providerKind {
	case "workers-ai":
		raw, ok := catalog.InputSchema(providerKind, modelID)
		if !ok {
			return nil
		}
		props := inputProperties(raw)
		for _, o := range t.options {
			if !props[modelInputs[o.name]] {
				d.Errorf(o.val.Pos, o.val.Path, "%s: model %s does not take %s (its published input schema has no %s); @cf/openai/whisper-large-v3-turbo takes language, prompt and vad",
					o.name, modelID, o.name, modelInputs[o.name])
			}
		}
	case "openai":
		for _, o := range t.options {
			if o.name == "vad" {
				d.Errorf(o.val.Pos, o.val.Path, "vad: OpenAI transcriptions have no voice activity option; remove vad")
			}
		}
	}
	return d
}

// inputProperties lists the properties of a published input schema, in any of its
// oneOf branches.
func inputProperties(raw json.RawMessage) map[string]bool {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
		OneOf      []struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"oneOf"`
	}
	out := map[string]bool{}
	if json.Unmarshal(raw, &s) != nil {
		return out
	}
	for k := range s.Properties {
		out[k] = true
	}
	for _, b := range s.OneOf {
		for k := range b.Properties {
			out[k] = true
		}
	}
	return out
}
