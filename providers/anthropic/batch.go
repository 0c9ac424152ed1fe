package anthropic

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/aiflow/aiflow/providers"
)

// Message Batches (docs.anthropic.com/en/docs/build-with-claude/batch-processing):
// POST /v1/messages/batches with {"requests": [{custom_id, params}]}, where params are
// a Messages request; GET /v1/messages/batches/{id} reports processing_status
// (in_progress, canceling, ended) and request_counts; once ended, GET
// /v1/messages/batches/{id}/results streams one JSON line per request: {custom_id,
// result: {type: succeeded, message} | {type: errored, error} | {type: canceled} |
// {type: expired}}. Batched requests cost half the standard price.

var _ providers.AsyncBatcher = (*Provider)(nil)

// batchDiscount is Anthropic's published Message Batches price: 50 % of the standard one.
const batchDiscount = 0.5

// BatchDiscount is 0.5: Anthropic bills Message Batches at half price.
func (p *Provider) BatchDiscount(string) float64 { return batchDiscount }

// Extra values recording how to read an item's answer.
const (
	extraJSON    = "json"         // the answer is the jsonTool's input
	extraWrapped = "json-wrapped" // … wrapped under wrapKey
)

// SubmitBatch sends reqs as one Message Batch.
func (p *Provider) SubmitBatch(ctx context.Context, task providers.Task, model string, reqs []providers.BatchRequest) (providers.BatchJob, error) {
	if task != providers.TaskGenerate {
		return providers.BatchJob{}, p.requestError(model, fmt.Errorf("message batches take generate requests, not %s", task))
	}
	type item struct {
		CustomID string               `json:"custom_id"`
		Params   sdk.MessageNewParams `json:"params"`
	}
	items := make([]item, len(reqs))
	job := providers.BatchJob{Model: model, Task: task, IDs: make([]string, len(reqs)), Extra: map[string]string{}}
	for i, r := range reqs {
		if r.Generate == nil {
			return providers.BatchJob{}, p.requestError(model, fmt.Errorf("batch request %s has no generate request", r.ID))
		}
		pl, err := p.buildPlan(*r.Generate)
		if err != nil {
			return providers.BatchJob{}, p.requestError(model, err)
		}
		items[i], job.IDs[i] = item{CustomID: r.ID, Params: pl.params}, r.ID
		switch {
		case pl.wrapped:
			job.Extra[r.ID] = extraWrapped
		case pl.json:
			job.Extra[r.ID] = extraJSON
		}
	}
	body, err := json.Marshal(map[string]any{"requests": items})
	if err != nil {
		return providers.BatchJob{}, p.requestError(model, err)
	}
	var httpResp *http.Response
	opts, err := p.requestOptions(nil, &httpResp)
	if err != nil {
		return providers.BatchJob{}, p.requestError(model, err)
	}
	opts = append(opts, option.WithRequestBody("application/json", body))
	b, err := p.messages.Batches.New(ctx, sdk.MessageBatchNewParams{}, opts...)
	if err != nil {
		return providers.BatchJob{}, p.wrapError(err, model)
	}
	job.ID = b.ID
	return job, nil
}

// PollBatch reads the batch; once it has ended it streams the results.
func (p *Provider) PollBatch(ctx context.Context, job providers.BatchJob) (providers.BatchState, error) {
	var httpResp *http.Response
	opts, err := p.requestOptions(nil, &httpResp)
	if err != nil {
		return providers.BatchState{}, p.requestError(job.Model, err)
	}
	b, err := p.messages.Batches.Get(ctx, job.ID, sdk.MessageBatchGetParams{}, opts...)
	if err != nil {
		return providers.BatchState{}, p.wrapError(err, job.Model)
	}
	c := b.RequestCounts
	st := providers.BatchState{Status: string(b.ProcessingStatus), Running: int(c.Processing), Done: int(c.Succeeded),
		Failed: int(c.Errored + c.Canceled + c.Expired)}
	if b.ProcessingStatus != sdk.MessageBatchProcessingStatusEnded {
		return st, nil
	}
	st.Ended = true
	// opts[0] captures the response of Get; the rest are gateway headers, if any.
	stream := p.messages.Batches.ResultsStreaming(ctx, job.ID, sdk.MessageBatchResultsParams{}, opts[1:]...)
	defer stream.Close()
	for stream.Next() {
		st.Results = append(st.Results, p.batchAnswer(job, stream.Current()))
	}
	if err := stream.Err(); err != nil {
		return providers.BatchState{}, p.wrapError(err, job.Model)
	}
	return st, nil
}

// batchAnswer converts one result line.
func (p *Provider) batchAnswer(job providers.BatchJob, line sdk.MessageBatchIndividualResponse) providers.BatchResult {
	r := providers.BatchResult{ID: line.CustomID}
	res := line.Result
	switch res.Type {
	case "succeeded":
	case "errored":
		e := res.Error.Error
		msg := e.Message
		if msg == "" {
			msg = "the request errored without a message"
		}
		r.Err = &providers.Error{Provider: p.kind, Model: job.Model, Code: string(e.Type), Message: msg}
		return r
	default: // canceled, expired
		r.Err = &providers.Error{Provider: p.kind, Model: job.Model, Code: res.Type, Message: "the batch request was " + res.Type + " before it was processed"}
		return r
	}
	pl := plan{json: job.Extra[line.CustomID] != "", wrapped: job.Extra[line.CustomID] == extraWrapped}
	out, err := p.finish(job.Model, pl, answerOf(&res.Message), nil)
	out.Usage.USD *= batchDiscount
	out.Meta = providers.Meta{"model": job.Model, "batch": job.ID}
	r.Generate, r.Err = out, err
	return r
}
