package embed

import (
	"fmt"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

var _ steps.AsyncBatchStep = embedder{}

// BatchRequest is the call's texts as one request of an asynchronous batch.
func (embedder) BatchRequest(call *steps.Call) (providers.BatchRequest, error) {
	texts, err := inputTexts(call)
	if err != nil {
		return providers.BatchRequest{}, err
	}
	opts, _ := call.Inputs["options"].(map[string]any)
	return providers.BatchRequest{Embed: &providers.EmbedRequest{Model: call.Model.ID, Texts: texts, Options: opts}}, nil
}

// BatchResult turns the batch's answer for the call into the step's output.
func (embedder) BatchResult(call *steps.Call, r providers.BatchResult) (steps.Result, error) {
	if r.Err != nil {
		return steps.Result{Usage: r.Embed.Usage}, fmt.Errorf("embedding with %s: %w", call.Model.Ref(), r.Err)
	}
	texts, err := inputTexts(call)
	if err != nil {
		return steps.Result{}, err
	}
	resp := r.Embed
	if len(resp.Vectors) != len(texts) {
		return steps.Result{Usage: resp.Usage}, fmt.Errorf("embedding with %s: got %d vectors for %d texts", call.Model.Ref(), len(resp.Vectors), len(texts))
	}
	if resp.Dimensions == 0 && len(resp.Vectors) > 0 {
		resp.Dimensions = len(resp.Vectors[0])
	}
	return split(call, resp, []int{len(texts)})[0], nil
}
