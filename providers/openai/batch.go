package openai

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/aiflow/aiflow/providers"
)

// The Batch API (platform.openai.com/docs/guides/batch): the requests go up as a JSONL
// file ({custom_id, method, url, body} per line) to /v1/files with purpose "batch";
// POST /v1/batches starts the batch on it; GET /v1/batches/{id} reports status and
// request_counts; once completed, output_file_id holds one line per answered request
// ({custom_id, response: {status_code, body}, error}) and error_file_id the failed ones.
// OpenAI prices batched requests at half the synchronous price.

var _ providers.AsyncBatcher = (*Provider)(nil)

// batchDiscount is OpenAI's published Batch API price: 50 % of the synchronous one.
const batchDiscount = 0.5

// maxBatchFile bounds an output or error file read back (the API caps inputs at 200 MB).
const maxBatchFile = 256 << 20

// BatchDiscount is 0.5: OpenAI bills Batch API requests at half price.
func (p *Provider) BatchDiscount(string) float64 { return batchDiscount }

// batchLine is one line of a batch input file.
type batchLine struct {
	CustomID string          `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

// SubmitBatch uploads reqs as a JSONL file and starts a batch on it.
func (p *Provider) SubmitBatch(ctx context.Context, task providers.Task, model string, reqs []providers.BatchRequest) (providers.BatchJob, error) {
	var endpoint oai.BatchNewParamsEndpoint
	switch task {
	case providers.TaskGenerate:
		endpoint = oai.BatchNewParamsEndpointV1ChatCompletions
	case providers.TaskEmbed:
		endpoint = oai.BatchNewParamsEndpointV1Embeddings
	default:
		return providers.BatchJob{}, p.requestError(model, fmt.Errorf("the Batch API takes generate and embed requests, not %s", task))
	}
	var file bytes.Buffer
	ids := make([]string, len(reqs))
	for i, r := range reqs {
		var body any
		switch {
		case task == providers.TaskGenerate && r.Generate != nil:
			req := *r.Generate
			req.Stream = nil
			params, err := p.buildParams(req)
			if err != nil {
				return providers.BatchJob{}, p.requestError(model, err)
			}
			body = params
		case task == providers.TaskEmbed && r.Embed != nil:
			params, err := embedParams(*r.Embed)
			if err != nil {
				return providers.BatchJob{}, p.requestError(model, err)
			}
			params.Input = oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: r.Embed.Texts}
			body = params
		default:
			return providers.BatchJob{}, p.requestError(model, fmt.Errorf("batch request %s has no %s request", r.ID, task))
		}
		b, err := json.Marshal(body)
		if err != nil {
			return providers.BatchJob{}, p.requestError(model, err)
		}
		line, _ := json.Marshal(batchLine{CustomID: r.ID, Method: http.MethodPost, URL: string(endpoint), Body: b})
		file.Write(line)
		file.WriteByte('\n')
		ids[i] = r.ID
	}
	var httpResp *http.Response
	opts, err := p.requestOptions(nil, &httpResp)
	if err != nil {
		return providers.BatchJob{}, p.requestError(model, err)
	}
	f, err := p.files.New(ctx, oai.FileNewParams{File: oai.File(&file, "aiflow-batch.jsonl", "application/jsonl"), Purpose: oai.FilePurposeBatch}, opts...)
	if err != nil {
		return providers.BatchJob{}, p.wrapError(err, model)
	}
	b, err := p.batches.New(ctx, oai.BatchNewParams{InputFileID: f.ID, Endpoint: endpoint, CompletionWindow: oai.BatchNewParamsCompletionWindow24h}, opts...)
	if err != nil {
		return providers.BatchJob{}, p.wrapError(err, model)
	}
	return providers.BatchJob{ID: b.ID, Model: model, Task: task, IDs: ids}, nil
}

// PollBatch reads the batch; once it has ended it reads the output and error files.
func (p *Provider) PollBatch(ctx context.Context, job providers.BatchJob) (providers.BatchState, error) {
	var httpResp *http.Response
	opts, err := p.requestOptions(nil, &httpResp)
	if err != nil {
		return providers.BatchState{}, p.requestError(job.Model, err)
	}
	b, err := p.batches.Get(ctx, job.ID, opts...)
	if err != nil {
		return providers.BatchState{}, p.wrapError(err, job.Model)
	}
	c := b.RequestCounts
	st := providers.BatchState{Status: string(b.Status), Done: int(c.Completed), Failed: int(c.Failed)}
	pending := max(int(c.Total)-st.Done-st.Failed, 0)
	switch b.Status {
	case oai.BatchStatusValidating:
		st.Queued = max(pending, len(job.IDs))
	case oai.BatchStatusInProgress, oai.BatchStatusFinalizing, oai.BatchStatusCancelling:
		st.Running = pending
	default: // completed, failed, expired, cancelled
		st.Ended = true
	}
	if !st.Ended {
		return st, nil
	}
	got := map[string]bool{}
	for _, id := range []string{b.OutputFileID, b.ErrorFileID} {
		if id == "" {
			continue
		}
		rs, err := p.batchFile(ctx, job, id, opts[1:]...)
		if err != nil {
			return providers.BatchState{}, err
		}
		for _, r := range rs {
			got[r.ID] = true
		}
		st.Results = append(st.Results, rs...)
	}
	// Requests in neither file (a batch that failed validation, expired or was
	// cancelled) fail with the batch's own reason.
	reason := "the batch " + string(b.Status) + " before answering it"
	if len(b.Errors.Data) > 0 {
		reason += ": " + b.Errors.Data[0].Message
	}
	for _, id := range job.IDs {
		if !got[id] {
			st.Results = append(st.Results, providers.BatchResult{ID: id, Err: &providers.Error{Provider: p.kind, Model: job.Model, Code: string(b.Status), Message: reason}})
		}
	}
	st.Done, st.Failed = 0, 0
	for _, r := range st.Results {
		if r.Err != nil {
			st.Failed++
		} else {
			st.Done++
		}
	}
	return st, nil
}

// batchOutput is one line of an output or error file.
type batchOutput struct {
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// batchFile reads an output or error file into results.
// opts are the gateway headers, when the provider goes through one.
func (p *Provider) batchFile(ctx context.Context, job providers.BatchJob, fileID string, opts ...option.RequestOption) ([]providers.BatchResult, error) {
	resp, err := p.files.Content(ctx, fileID, opts...)
	if err != nil {
		return nil, p.wrapError(err, job.Model)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, maxBatchFile))
	sc.Buffer(make([]byte, 0, 64<<10), maxBatchFile)
	var out []providers.BatchResult
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var o batchOutput
		if err := json.Unmarshal(line, &o); err != nil {
			return nil, p.outputError(job.Model, "bad_batch_file", fmt.Sprintf("batch file %s: %v", fileID, err))
		}
		out = append(out, p.batchAnswer(job, o))
	}
	if err := sc.Err(); err != nil {
		return nil, p.outputError(job.Model, "bad_batch_file", fmt.Sprintf("reading batch file %s: %v", fileID, err))
	}
	return out, nil
}

// batchAnswer converts one line: a 200 body as the synchronous endpoint's answer, any
// other status or error as the item's own error.
func (p *Provider) batchAnswer(job providers.BatchJob, o batchOutput) providers.BatchResult {
	r := providers.BatchResult{ID: o.CustomID}
	switch {
	case o.Error != nil && o.Error.Message != "":
		r.Err = &providers.Error{Provider: p.kind, Model: job.Model, Code: o.Error.Code, Message: o.Error.Message}
		return r
	case o.Response == nil:
		r.Err = p.outputError(job.Model, "bad_batch_file", "batch line without response or error")
		return r
	case o.Response.StatusCode != http.StatusOK:
		var e struct {
			Error struct {
				Message string `json:"message"`
				Code    string `json:"code"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		_ = json.Unmarshal(o.Response.Body, &e)
		msg := e.Error.Message
		if msg == "" {
			msg = fmt.Sprintf("status %d", o.Response.StatusCode)
		}
		r.Err = &providers.Error{Provider: p.kind, Model: job.Model, Status: o.Response.StatusCode, Code: e.Error.Code, Message: msg}
		return r
	}
	meta := providers.Meta{"model": job.Model, "batch": job.ID}
	switch job.Task {
	case providers.TaskGenerate:
		var c oai.ChatCompletion
		if err := json.Unmarshal(o.Response.Body, &c); err != nil || len(c.Choices) == 0 {
			r.Err = p.outputError(job.Model, "no_choices", "batch answer has no choices")
			return r
		}
		ch := c.Choices[0]
		var calls []rawCall
		for _, tc := range ch.Message.ToolCalls {
			calls = append(calls, rawCall{id: tc.ID, name: tc.Function.Name, args: tc.Function.Arguments})
		}
		g := generated{text: ch.Message.Content, refusal: ch.Message.Refusal, finish: ch.FinishReason, calls: calls, model: c.Model, usage: c.Usage}
		resp, err := p.finish(providers.GenerateRequest{Model: job.Model}, g, nil)
		resp.Usage = discounted(resp.Usage)
		resp.Meta = meta
		r.Generate, r.Err = resp, err
	case providers.TaskEmbed:
		var e oai.CreateEmbeddingResponse
		if err := json.Unmarshal(o.Response.Body, &e); err != nil {
			r.Err = p.outputError(job.Model, "bad_response", "batch answer is not an embedding response: "+err.Error())
			return r
		}
		out := providers.EmbedResponse{Vectors: make([][]float32, len(e.Data)), Meta: meta}
		for _, d := range e.Data {
			if d.Index < 0 || int(d.Index) >= len(e.Data) {
				r.Err = p.outputError(job.Model, "bad_response", fmt.Sprintf("vector index %d is out of range", d.Index))
				return r
			}
			vec := make([]float32, len(d.Embedding))
			for j, v := range d.Embedding {
				vec[j] = float32(v)
			}
			out.Vectors[d.Index] = vec
			out.Dimensions = len(vec)
		}
		out.Usage = providers.Usage{InputTokens: int(e.Usage.PromptTokens), Requests: 1}
		out.Usage.USD, out.Usage.Neurons = price(job.Model, out.Usage.InputTokens, 0)
		out.Usage = discounted(out.Usage)
		r.Embed = out
	}
	return r
}

// discounted applies the Batch API price to a usage priced at the synchronous rate.
func discounted(u providers.Usage) providers.Usage {
	u.USD *= batchDiscount
	u.Neurons *= batchDiscount
	return u
}
