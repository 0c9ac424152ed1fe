package wiretest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Message Batches, in the shapes of Anthropic's published API reference and SDKs: POST
// /v1/messages/batches {"requests": [{custom_id, params}]} answers a message_batch object
// (processing_status in_progress, request_counts {processing, succeeded, errored,
// canceled, expired}, results_url null); GET /v1/messages/batches/{id} reports it, ended
// with results_url once done; GET …/{id}/results streams JSON lines {custom_id, result:
// {type: succeeded, message} | {type: errored, error: {type: error, error: {type,
// message}}}}. Each request's params run through the emulator's own Messages handler, so
// they are checked as a direct request would be (stream is refused, as the API does).

type anthBatches struct {
	mu        sync.Mutex
	seq       int
	jobs      map[string]*anthBatch
	submitted map[string]int // custom_id → times submitted
	items     int
	polls     int // polls answered in_progress before a batch ends (default 1)
	itemError func(customID string) string
}

type anthBatch struct {
	obj     map[string]any
	polls   int
	results []byte
	ok, bad int
}

func (a *Anthropic) batchState() *anthBatches {
	b := &a.batches
	b.mu.Lock()
	if b.jobs == nil {
		b.jobs, b.submitted, b.polls = map[string]*anthBatch{}, map[string]int{}, 1
	}
	b.mu.Unlock()
	return b
}

// SetBatchPolls makes every batch answer n polls in_progress before it ends (default 1).
func (a *Anthropic) SetBatchPolls(n int) {
	b := a.batchState()
	b.mu.Lock()
	b.polls = n
	b.mu.Unlock()
}

// SetBatchItemError makes the request with a custom_id error on its own with the
// message f returns ("" lets it run).
func (a *Anthropic) SetBatchItemError(f func(customID string) string) {
	b := a.batchState()
	b.mu.Lock()
	b.itemError = f
	b.mu.Unlock()
}

// BatchSubmissions is how many times a request with this custom_id was submitted.
func (a *Anthropic) BatchSubmissions(customID string) int {
	b := a.batchState()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.submitted[customID]
}

// BatchItems is how many requests were submitted in batches, over every batch.
func (a *Anthropic) BatchItems() int {
	b := a.batchState()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.items
}

// serveBatch answers the Message Batches routes; it reports false for other routes.
func (a *Anthropic) serveBatch(w http.ResponseWriter, r *http.Request, body []byte, reqID string) bool {
	route, ok := strings.CutPrefix(r.URL.Path, a.cfg.prefix+"/v1/messages/batches")
	if !ok {
		return false
	}
	if !a.authorized(w, r, reqID) {
		return true
	}
	b := a.batchState()
	switch {
	case route == "" && r.Method == http.MethodPost:
		a.createBatch(w, body, reqID, b)
	case strings.HasSuffix(route, "/results") && r.Method == http.MethodGet:
		id := strings.TrimSuffix(strings.TrimPrefix(route, "/"), "/results")
		b.mu.Lock()
		job, ok := b.jobs[id]
		var data []byte
		ended := ok && job.obj["processing_status"] == "ended"
		if ended {
			data = job.results
		}
		b.mu.Unlock()
		switch {
		case !ok:
			anthropicError(w, http.StatusNotFound, "not_found_error", "Message batch "+id+" not found", reqID)
		case !ended:
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", "Message batch "+id+" has not ended; results are not yet available", reqID)
		default:
			w.Header().Set("Content-Type", "application/x-jsonl")
			_, _ = w.Write(data)
		}
	case strings.HasPrefix(route, "/") && r.Method == http.MethodGet:
		a.getBatch(w, r, strings.TrimPrefix(route, "/"), reqID, b)
	default:
		anthropicError(w, http.StatusNotFound, "not_found_error", "Not Found", reqID)
	}
	return true
}

func (a *Anthropic) createBatch(w http.ResponseWriter, body []byte, reqID string, b *anthBatches) {
	var in struct {
		Requests []struct {
			CustomID string          `json:"custom_id"`
			Params   json.RawMessage `json:"params"`
		} `json:"requests"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || len(in.Requests) == 0 {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "requests: Field required", reqID)
		return
	}
	seen := map[string]bool{}
	for i, r := range in.Requests {
		if r.CustomID == "" || len(r.CustomID) > 64 || seen[r.CustomID] {
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("requests.%d.custom_id: must be unique, 1-64 characters", i), reqID)
			return
		}
		seen[r.CustomID] = true
		var p map[string]any
		if json.Unmarshal(r.Params, &p) != nil {
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("requests.%d.params: Input should be an object", i), reqID)
			return
		}
		if s, _ := p["stream"].(bool); s {
			anthropicError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("requests.%d.params.stream: streaming is not supported in message batches", i), reqID)
			return
		}
	}
	b.mu.Lock()
	itemError := b.itemError
	b.seq++
	id := fmt.Sprintf("msgbatch_%024d", b.seq)
	b.mu.Unlock()
	job := &anthBatch{}
	var results bytes.Buffer
	for _, r := range in.Requests {
		b.mu.Lock()
		b.submitted[r.CustomID]++
		b.items++
		b.mu.Unlock()
		var result map[string]any
		if msg := ""; itemError != nil {
			if msg = itemError(r.CustomID); msg != "" {
				result = anthErrored("invalid_request_error", msg)
			}
		}
		if result == nil {
			rec := httptest.NewRecorder()
			a.messages(rec, r.Params, nil, reqID)
			var out map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &out)
			if rec.Code == http.StatusOK {
				result = map[string]any{"type": "succeeded", "message": out}
			} else {
				e, _ := out["error"].(map[string]any)
				typ, _ := e["type"].(string)
				msg, _ := e["message"].(string)
				result = anthErrored(typ, msg)
			}
		}
		if result["type"] == "succeeded" {
			job.ok++
		} else {
			job.bad++
		}
		line, _ := json.Marshal(map[string]any{"custom_id": r.CustomID, "result": result})
		results.Write(append(line, '\n'))
	}
	job.results = results.Bytes()
	now := time.Now().UTC()
	job.obj = map[string]any{"id": id, "type": "message_batch", "processing_status": "in_progress",
		"request_counts": map[string]any{"processing": len(in.Requests), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
		"ended_at":       nil, "created_at": now.Format(time.RFC3339), "expires_at": now.Add(24 * time.Hour).Format(time.RFC3339),
		"archived_at": nil, "cancel_initiated_at": nil, "results_url": nil}
	b.mu.Lock()
	b.jobs[id] = job
	obj := anthSnapshot(job.obj)
	b.mu.Unlock()
	anthJSON(w, obj)
}

func anthErrored(typ, msg string) map[string]any {
	return map[string]any{"type": "errored", "error": map[string]any{"type": "error",
		"error": map[string]any{"type": typ, "message": msg}, "request_id": nil}}
}

func (a *Anthropic) getBatch(w http.ResponseWriter, r *http.Request, id, reqID string, b *anthBatches) {
	b.mu.Lock()
	job, ok := b.jobs[id]
	if !ok {
		b.mu.Unlock()
		anthropicError(w, http.StatusNotFound, "not_found_error", "Message batch "+id+" not found", reqID)
		return
	}
	if job.polls < b.polls {
		job.polls++
	} else if job.obj["processing_status"] != "ended" {
		job.obj["processing_status"], job.obj["ended_at"] = "ended", time.Now().UTC().Format(time.RFC3339)
		job.obj["request_counts"] = map[string]any{"processing": 0, "succeeded": job.ok, "errored": job.bad, "canceled": 0, "expired": 0}
		scheme := "http"
		job.obj["results_url"] = scheme + "://" + r.Host + a.cfg.prefix + "/v1/messages/batches/" + id + "/results"
	}
	obj := anthSnapshot(job.obj)
	b.mu.Unlock()
	anthJSON(w, obj)
}

func anthSnapshot(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func anthJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
