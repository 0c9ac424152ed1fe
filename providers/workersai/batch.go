package workersai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aiflow/aiflow/providers"
)

// The asynchronous Batch API (developers.cloudflare.com/workers-ai/features/batch-api):
// POST /ai/run/{model}?queueRequest=true with {"requests": [...]} answers
// {"status": "queued", "request_id", "model"}; POSTing {"request_id"} to the same URL
// answers {"status": "queued"|"running"} until the batch is done, then {"responses":
// [{id, result, success, external_reference}], "usage"}. Each request carries its
// item's external_reference, which the answer echoes; `id` is the request's position.
// Cloudflare publishes no batch discount, so BatchDiscount is 1.

var _ providers.AsyncBatcher = (*Provider)(nil)

// maxBatchPayload is the published limit of a batch request's body ("under 10 MB").
const maxBatchPayload = 10_000_000

// BatchDiscount is 1: Workers AI publishes no price difference for batched requests.
func (p *Provider) BatchDiscount(string) float64 { return 1 }

// SubmitBatch queues reqs on model and returns the request_id to poll.
func (p *Provider) SubmitBatch(ctx context.Context, task providers.Task, model string, reqs []providers.BatchRequest) (providers.BatchJob, error) {
	if err := checkModel(model); err != nil {
		return providers.BatchJob{}, err
	}
	body := make([]map[string]any, len(reqs))
	ids := make([]string, len(reqs))
	for i, r := range reqs {
		var b map[string]any
		var err error
		switch {
		case task == providers.TaskGenerate && r.Generate != nil:
			b, _, err = p.generateBody(*r.Generate, false)
			delete(b, "stream")
		case task == providers.TaskEmbed && r.Embed != nil:
			if err = checkEmbed(*r.Embed); err == nil {
				b = map[string]any{"text": r.Embed.Texts}
				for k, v := range r.Embed.Options {
					b[k] = v
				}
			}
		default:
			err = invalid(model, fmt.Sprintf("the batch API takes generate and embed requests, not %s", task))
		}
		if err != nil {
			return providers.BatchJob{}, err
		}
		b["external_reference"] = r.ID
		body[i], ids[i] = b, r.ID
	}
	payload := map[string]any{"requests": body}
	if b, err := json.Marshal(payload); err == nil && len(b) > maxBatchPayload {
		return providers.BatchJob{}, invalid(model, fmt.Sprintf("a batch of %d requests is %d bytes; the Batch API takes at most 10 MB: lower batch.size", len(reqs), len(b)))
	}
	var res queueAnswer
	if _, err := p.run(ctx, call{task: task, model: model, body: payload, queue: true}, &res); err != nil {
		return providers.BatchJob{}, err
	}
	if res.RequestID == "" {
		return providers.BatchJob{}, invalid(model, "the batch API answered without a request_id (status "+res.Status+")")
	}
	return providers.BatchJob{ID: res.RequestID, Model: model, Task: task, IDs: ids}, nil
}

// queueAnswer is the `result` of a queue or poll request.
type queueAnswer struct {
	Status    string         `json:"status"`
	RequestID string         `json:"request_id"`
	Responses *[]batchAnswer `json:"responses"`
	Usage     *wireUsage     `json:"usage"`
}

// batchAnswer is one request's answer in a finished batch.
type batchAnswer struct {
	ID                int             `json:"id"`
	Result            json.RawMessage `json:"result"`
	Success           *bool           `json:"success"`
	ExternalReference *string         `json:"external_reference"`
	Error             json.RawMessage `json:"error"`
	Errors            []envelopeError `json:"errors"`
}

// PollBatch asks for the batch once; a finished batch comes back with every answer.
func (p *Provider) PollBatch(ctx context.Context, job providers.BatchJob) (providers.BatchState, error) {
	var res queueAnswer
	if _, err := p.run(ctx, call{task: job.Task, model: job.Model, body: map[string]any{"request_id": job.ID}, queue: true}, &res); err != nil {
		return providers.BatchState{}, err
	}
	n := len(job.IDs)
	if res.Responses == nil {
		st := providers.BatchState{Status: res.Status}
		if res.Status == "running" {
			st.Running = n
		} else {
			st.Queued = n
		}
		return st, nil
	}
	st := providers.BatchState{Status: "done", Ended: true}
	answers := *res.Responses
	results := make([]providers.BatchResult, 0, len(answers))
	for _, a := range answers {
		id := ""
		if a.ExternalReference != nil {
			id = *a.ExternalReference
		} else if a.ID >= 0 && a.ID < n {
			id = job.IDs[a.ID]
		}
		r := providers.BatchResult{ID: id}
		if a.Success != nil && !*a.Success {
			r.Err = &providers.Error{Provider: Kind, Model: job.Model, Message: answerError(a)}
		} else {
			r.Err = p.decodeAnswer(job, a.Result, &r)
		}
		if r.Err != nil {
			st.Failed++
		} else {
			st.Done++
		}
		results = append(results, r)
	}
	shareUsage(job.Model, res.Usage, results)
	st.Results = results
	return st, nil
}

// answerError is the message of a failed request: its error, else its errors.
func answerError(a batchAnswer) string {
	var s string
	var obj struct {
		Message string `json:"message"`
	}
	switch {
	case json.Unmarshal(a.Error, &s) == nil && s != "":
		return s
	case json.Unmarshal(a.Error, &obj) == nil && obj.Message != "":
		return obj.Message
	case len(a.Errors) > 0:
		return a.Errors[0].Message
	}
	return "the batch API reported the request failed without a message"
}

// decodeAnswer reads one answer's result into r. Generations come nested once more
// ({"result": {"response": …}}) in the published examples; both shapes are read.
func (p *Provider) decodeAnswer(job providers.BatchJob, raw json.RawMessage, r *providers.BatchResult) error {
	var inner struct {
		Result json.RawMessage `json:"result"`
	}
	if json.Unmarshal(raw, &inner) == nil && len(bytes.TrimSpace(inner.Result)) > 0 && inner.Result[0] == '{' {
		raw = inner.Result
	}
	switch job.Task {
	case providers.TaskGenerate:
		var g genResult
		if err := p.decode(job.Model, raw, &g); err != nil {
			return err
		}
		resp, err := g.response(providers.GenerateRequest{Model: job.Model}, 0)
		if err != nil {
			return err
		}
		if parsed := parseJSONText(resp.Text); resp.JSON == nil && parsed != nil && strings.HasPrefix(strings.TrimSpace(resp.Text), "{") {
			resp.JSON = parsed
		}
		resp.Meta = providers.Meta{"model": job.Model, "batch": job.ID}
		r.Generate = resp
	case providers.TaskEmbed:
		var e embedResult
		if err := p.decode(job.Model, raw, &e); err != nil {
			return err
		}
		if len(e.Data) == 0 {
			e.Data = e.Response
		}
		r.Embed = providers.EmbedResponse{Vectors: e.Data, Meta: providers.Meta{"model": job.Model, "batch": job.ID}}
		if len(e.Data) > 0 {
			r.Embed.Dimensions = len(e.Data[0])
		}
	}
	return nil
}

// shareUsage divides the batch's reported usage among its answers in proportion to the
// size of their outputs (the API reports usage for the batch only), priced from the
// catalogue. Without reported usage, each answer's usage is estimated.
func shareUsage(model string, u *wireUsage, results []providers.BatchResult) {
	if len(results) == 0 {
		return
	}
	weights := make([]int, len(results))
	total := 0
	for i, r := range results {
		weights[i] = 1 + estimateTokens(r.Generate.Text) + len(r.Embed.Vectors)
		total += weights[i]
	}
	var in, out, inLeft, outLeft int
	if u != nil {
		in, out = u.PromptTokens, u.CompletionTokens
		inLeft, outLeft = in, out
	}
	for i := range results {
		var part wireUsage
		if u != nil {
			if i == len(results)-1 {
				part.PromptTokens, part.CompletionTokens = inLeft, outLeft
			} else {
				part.PromptTokens, part.CompletionTokens = in*weights[i]/total, out*weights[i]/total
			}
			inLeft -= part.PromptTokens
			outLeft -= part.CompletionTokens
		}
		var usage providers.Usage
		if u != nil {
			usage = usageFor(model, part)
		} else {
			meta := providers.Meta{}
			usage = estimatedUsage(model, meta, nil, results[i].Generate.Text)
		}
		usage.Requests = 1
		results[i].Generate.Usage, results[i].Embed.Usage = usage, usage
	}
}
