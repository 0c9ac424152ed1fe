package generate

import (
	"errors"
	"fmt"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

var _ steps.AsyncBatchStep = (*generator)(nil)

// BatchRequest is the call as one request of an asynchronous batch: the same messages,
// params and output schema as Run sends, without streaming. Tools need a conversation
// and are refused at validate with an async batch.
func (g *generator) BatchRequest(call *steps.Call) (providers.BatchRequest, error) {
	if len(g.tools) > 0 {
		return providers.BatchRequest{}, errors.New("tools cannot go through an asynchronous batch")
	}
	msgs, err := messages(call.Prompt)
	if err != nil {
		return providers.BatchRequest{}, err
	}
	truncate, _ := call.Inputs["truncate"].(bool)
	if msgs, err = fitWindow(call.Model, msgs, call.Params, truncate); err != nil {
		return providers.BatchRequest{}, err
	}
	if call.OutputSchema != nil {
		if _, err := compileSchema(call.OutputSchema); err != nil {
			return providers.BatchRequest{}, err
		}
	}
	return providers.BatchRequest{Generate: &providers.GenerateRequest{Model: call.Model.ID, Messages: msgs,
		Params: call.Params, JSONSchema: call.OutputSchema}}, nil
}

// BatchResult turns the batch's answer for the call into the step's output. An answer
// that does not match output.schema fails the item: a batch has no turn left in which
// to repair it.
func (g *generator) BatchResult(call *steps.Call, r providers.BatchResult) (steps.Result, error) {
	m, resp := call.Model, r.Generate
	if r.Err != nil {
		return steps.Result{Usage: resp.Usage, ModelRef: m.Ref()}, fmt.Errorf("generating with %s: %w", m.Ref(), r.Err)
	}
	if call.OutputSchema == nil {
		return result(m, resp, nil, resp.Usage, resp.Meta), nil
	}
	check, err := compileSchema(call.OutputSchema)
	if err != nil {
		return steps.Result{Usage: resp.Usage, ModelRef: m.Ref()}, err
	}
	val, text, verr := check.answer(resp)
	if verr != nil {
		return steps.Result{Usage: resp.Usage, ModelRef: m.Ref()}, fmt.Errorf("model %s answered without JSON matching output.schema (a batched answer cannot be repaired): %w", m.Ref(), verr)
	}
	resp.Text = text
	return result(m, resp, val, resp.Usage, resp.Meta), nil
}
