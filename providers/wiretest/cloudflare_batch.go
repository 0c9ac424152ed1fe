package wiretest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
)

// The Workers AI asynchronous Batch API, as published in cloudflare-docs
// (src/content/docs/workers-ai/features/batch-api/): POST /ai/run/{model}?queueRequest=true
// with {"requests": [...]} queues them and answers {"status": "queued", "request_id",
// "model"}; POSTing {"request_id"} to the same URL answers {"status": "queued"} (then
// "running") while the batch waits, then {"responses": [{id, result, success,
// external_reference}], "usage"}. Generations come back as {"result": {"response": …}}
// inside result, embeddings as the model's own result, as in the published examples.
// Only the models the docs list as supported take batches.

// cfBatchModels are the models the Batch API documentation lists.
var cfBatchModels = map[string]bool{
	"@cf/meta/llama-3.3-70b-instruct-fp8-fast": true,
	"@cf/baai/bge-small-en-v1.5":               true,
	"@cf/baai/bge-base-en-v1.5":                true,
	"@cf/baai/bge-large-en-v1.5":               true,
	"@cf/baai/bge-m3":                          true,
	"@cf/meta/m2m100-1.2b":                     true,
}

// cfBatches is the emulator's batch state.
type cfBatches struct {
	mu        sync.Mutex
	seq       int
	jobs      map[string]*cfBatch
	submitted map[string]int // external_reference → times submitted
	items     int            // requests submitted, over every batch
	polls     int            // polls answered "queued"/"running" before a batch is done
	itemError func(ref string, req map[string]any) string
}

type cfBatch struct {
	model     string
	polls     int
	responses []map[string]any
	usage     map[string]int
}

// SetBatchPolls makes every batch answer n polls with queued (the first) or running
// (the others) before its results; the default is 1.
func (cf *Cloudflare) SetBatchPolls(n int) {
	cf.batches.mu.Lock()
	cf.batches.polls = n
	cf.batches.mu.Unlock()
}

// SetBatchItemError makes a batched request fail on its own (success false) with the
// message f returns for it; "" lets it run.
func (cf *Cloudflare) SetBatchItemError(f func(ref string, req map[string]any) string) {
	cf.batches.mu.Lock()
	cf.batches.itemError = f
	cf.batches.mu.Unlock()
}

// BatchSubmissions is how many times a request with this external_reference was queued.
func (cf *Cloudflare) BatchSubmissions(ref string) int {
	cf.batches.mu.Lock()
	defer cf.batches.mu.Unlock()
	return cf.batches.submitted[ref]
}

// BatchItems is how many requests were queued, over every batch.
func (cf *Cloudflare) BatchItems() int {
	cf.batches.mu.Lock()
	defer cf.batches.mu.Unlock()
	return cf.batches.items
}

// queue serves a ?queueRequest=true run: a submission or a poll.
func (cf *Cloudflare) queue(w http.ResponseWriter, c *cfCall, model string) {
	m, ok := cfModels[model]
	if !ok {
		cfNoModel(w, model)
		return
	}
	if !cfBatchModels[model] {
		cfBadInput(w, fmt.Sprintf("model %s does not support queueRequest (batch) inference", model))
		return
	}
	var in struct {
		Requests  []map[string]any `json:"requests"`
		RequestID *string          `json:"request_id"`
	}
	if err := json.Unmarshal(c.body, &in); err != nil {
		cfBadInput(w, "Type mismatch of '/', 'object' not in 'string'")
		return
	}
	if f := cf.Faults.next(c.r.URL.EscapedPath()); f != nil {
		if !cfWait(c.r, f.Delay) {
			return
		}
		cfFault(w, f)
		return
	}
	b := &cf.batches
	if in.RequestID != nil {
		b.mu.Lock()
		job, ok := b.jobs[*in.RequestID]
		if !ok || job.model != model {
			b.mu.Unlock()
			cfBadInput(w, "request_id not found: "+*in.RequestID)
			return
		}
		if job.polls < b.polls {
			status := "queued"
			if job.polls > 0 {
				status = "running"
			}
			job.polls++
			b.mu.Unlock()
			cfOK(w, map[string]any{"status": status, "request_id": *in.RequestID})
			return
		}
		b.mu.Unlock()
		cfOK(w, map[string]any{"responses": job.responses, "usage": map[string]any{
			"prompt_tokens": job.usage["in"], "completion_tokens": job.usage["out"], "total_tokens": job.usage["in"] + job.usage["out"]}})
		return
	}
	if len(in.Requests) == 0 {
		cfBadInput(w, "required properties at '/' are 'requests' or 'request_id'")
		return
	}
	job := &cfBatch{model: model, usage: map[string]int{}}
	b.mu.Lock()
	itemError := b.itemError
	b.mu.Unlock()
	for i, req := range in.Requests {
		ref, _ := req["external_reference"].(string)
		b.mu.Lock()
		b.submitted[ref]++
		b.items++
		b.mu.Unlock()
		sub := map[string]any{}
		for k, v := range req {
			if k != "external_reference" {
				sub[k] = v
			}
		}
		answer := map[string]any{"id": i, "external_reference": nil}
		if ref != "" {
			answer["external_reference"] = ref
		}
		if msg := ""; itemError != nil {
			if msg = itemError(ref, sub); msg != "" {
				answer["success"], answer["error"], answer["result"] = false, msg, nil
				job.responses = append(job.responses, answer)
				continue
			}
		}
		res, errMsg := cf.runQueued(c, model, m, sub)
		if errMsg != "" {
			answer["success"], answer["error"], answer["result"] = false, errMsg, nil
		} else {
			if u, ok := res["usage"].(map[string]any); ok {
				in, _ := u["prompt_tokens"].(float64)
				out, _ := u["completion_tokens"].(float64)
				job.usage["in"] += int(in)
				job.usage["out"] += int(out)
				delete(res, "usage")
			}
			answer["success"] = true
			if m.task == "generate" {
				answer["result"] = map[string]any{"result": res}
			} else {
				answer["result"] = res
			}
		}
		job.responses = append(job.responses, answer)
	}
	b.mu.Lock()
	b.seq++
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", b.seq)
	b.jobs[id] = job
	b.mu.Unlock()
	cfOK(w, map[string]any{"status": "queued", "request_id": id, "model": model})
}

// runQueued runs one queued request as a direct run of the model would, and returns its
// result or the error the model answered with.
func (cf *Cloudflare) runQueued(c *cfCall, model string, m cfModel, req map[string]any) (map[string]any, string) {
	body, _ := json.Marshal(req)
	rec := httptest.NewRecorder()
	sub := &cfCall{r: c.r, body: body, params: c.params, gateway: c.gateway}
	run := CFRun{Model: model, Task: m.task, Input: req}
	switch m.task {
	case "generate":
		cf.generate(rec, sub, run, m, false)
	case "embed":
		cf.embed(rec, sub, run, m)
	case "translate":
		cf.translate(rec, sub, run)
	default:
		return nil, "task " + m.task + " takes no batches"
	}
	var env struct {
		Result  map[string]any `json:"result"`
		Success bool           `json:"success"`
		Errors  []cfErr        `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		return nil, "internal error: " + err.Error()
	}
	if !env.Success {
		if len(env.Errors) > 0 {
			return nil, env.Errors[0].Message
		}
		return nil, "failed"
	}
	return env.Result, ""
}
