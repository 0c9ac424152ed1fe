// Package chunk implements the "chunk" step kind, which splits text into overlapping
// windows measured in tokens or characters, recursively at paragraph, sentence and word
// boundaries. The splitting itself is Split, in split.go.
package chunk

import (
	"context"

	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

func init() { steps.MustRegister(Kind) }

// Kind describes the chunk step to the registry.
var Kind = steps.Kind{
	Name:    "chunk",
	Summary: "Split documents into overlapping text windows.",
	Inputs: []steps.Field{
		{Name: "text", Type: steps.String, Required: true, Doc: "The text to split."},
		{Name: "size", Type: steps.Int, Default: 400, Doc: "Window size, in units."},
		{Name: "overlap", Type: steps.Int, Default: 0, Doc: "How much of the previous window each window repeats, in units."},
		{Name: "unit", Type: steps.String, Default: "tokens", Enum: []string{"tokens", "chars"}, Doc: "What size and overlap count: tokens (cl100k_base BPE) or characters."},
		{Name: "source", Type: steps.String, Doc: "A name for the text's origin, copied to every item (used for upsert ids and metadata)."},
	},
	Outputs: []steps.Field{
		{Name: "items", Type: steps.List, Doc: "Chunks: {text, index, start, end, tokens, source}; start/end are byte offsets into the text."},
		{Name: "texts", Type: steps.Strings, Doc: "The chunk texts alone."},
		{Name: "count", Type: steps.Int, Doc: "Number of chunks."},
	},
	Version:        "1",
	Deterministic:  true,
	CacheByDefault: true,
	Local:          true, // splits text in memory
	New:            func(*spec.Step) (steps.Step, spec.Diagnostics) { return chunker{}, nil },
}

type chunker struct{}

var _ steps.Step = chunker{}

// Run splits the text.
func (chunker) Run(_ context.Context, call *steps.Call) (steps.Result, error) {
	text, _ := call.Inputs["text"].(string)
	size, _ := call.Inputs["size"].(int)
	overlap, _ := call.Inputs["overlap"].(int)
	unit, _ := call.Inputs["unit"].(string)
	source, _ := call.Inputs["source"].(string)
	chunks, err := Split(text, Options{Size: size, Overlap: overlap, Unit: unit})
	if err != nil {
		return steps.Result{}, err
	}
	items := make([]any, len(chunks))
	texts := make([]any, len(chunks))
	for i, c := range chunks {
		item := map[string]any{"text": c.Text, "index": c.Index, "start": c.Start, "end": c.End, "tokens": c.Tokens}
		if source != "" {
			item["source"] = source
		}
		items[i], texts[i] = item, c.Text
	}
	return steps.Result{Output: map[string]any{"items": items, "texts": texts, "count": len(chunks)}}, nil
}
