package wiretest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// The OpenAI Batch API, in the shapes of OpenAI's published OpenAPI document
// (openai/openai-openapi): POST /files (multipart, purpose "batch") stores a JSONL input
// file; POST /batches {input_file_id, endpoint, completion_window} starts a batch, which
// reports status validating, then in_progress, then completed with request_counts,
// output_file_id and error_file_id; GET /files/{id}/content returns a file. Output lines
// are {id, custom_id, response: {status_code, request_id, body}, error}; requests that
// fail go to the error file with their status code and error body. Each request runs
// through the emulator's own chat or embeddings handler, so its body is checked as a
// direct request's would be.

type oaiBatches struct {
	mu        sync.Mutex
	seq       int
	files     map[string][]byte
	jobs      map[string]*oaiBatch
	submitted map[string]int // custom_id → times submitted
	items     int
	polls     int // polls answered before a batch is completed (default 1)
	itemError func(customID string) string
}

type oaiBatch struct {
	obj   map[string]any
	polls int
	out   string // output file id
	errs  string // error file id
	done  int
	fail  int
}

func (o *OpenAI) batchState() *oaiBatches {
	b := &o.batches
	b.mu.Lock()
	if b.files == nil {
		b.files, b.jobs, b.submitted, b.polls = map[string][]byte{}, map[string]*oaiBatch{}, map[string]int{}, 1
	}
	b.mu.Unlock()
	return b
}

// SetBatchPolls makes every batch answer n polls (validating, then in_progress) before
// it is completed; the default is 1.
func (o *OpenAI) SetBatchPolls(n int) {
	b := o.batchState()
	b.mu.Lock()
	b.polls = n
	b.mu.Unlock()
}

// SetBatchItemError makes the request with a custom_id fail on its own, with the
// message f returns ("" lets it run); it lands in the error file with status 400.
func (o *OpenAI) SetBatchItemError(f func(customID string) string) {
	b := o.batchState()
	b.mu.Lock()
	b.itemError = f
	b.mu.Unlock()
}

// BatchSubmissions is how many times a request with this custom_id was submitted.
func (o *OpenAI) BatchSubmissions(customID string) int {
	b := o.batchState()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.submitted[customID]
}

// BatchItems is how many requests were submitted in batches, over every batch.
func (o *OpenAI) BatchItems() int {
	b := o.batchState()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.items
}

// serveBatch answers the Files and Batches routes; it reports false for other routes.
func (o *OpenAI) serveBatch(w http.ResponseWriter, r *http.Request, route string, body []byte) bool {
	files, batches := route == "/files" || strings.HasPrefix(route, "/files/"), route == "/batches" || strings.HasPrefix(route, "/batches/")
	if !files && !batches {
		return false
	}
	if !o.authorized(w, r) {
		return true
	}
	b := o.batchState()
	switch {
	case route == "/files" && r.Method == http.MethodPost:
		o.uploadFile(w, r, b)
	case strings.HasPrefix(route, "/files/") && strings.HasSuffix(route, "/content") && r.Method == http.MethodGet:
		id := strings.TrimSuffix(strings.TrimPrefix(route, "/files/"), "/content")
		b.mu.Lock()
		data, ok := b.files[id]
		b.mu.Unlock()
		if !ok {
			o.fail.write(w, http.StatusNotFound, "invalid_request_error", "", "", "No such File object: "+id)
			return true
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(data)
	case route == "/batches" && r.Method == http.MethodPost:
		o.createBatch(w, body, b)
	case strings.HasPrefix(route, "/batches/") && r.Method == http.MethodGet:
		o.getBatch(w, strings.TrimPrefix(route, "/batches/"), b)
	default:
		o.fail.write(w, http.StatusNotFound, "invalid_request_error", "", "", fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path))
	}
	return true
}

// uploadFile stores a multipart upload with purpose batch.
func (o *OpenAI) uploadFile(w http.ResponseWriter, r *http.Request, b *oaiBatches) {
	if err := r.ParseMultipartForm(64 << 20); err != nil {
		o.fail.write(w, http.StatusBadRequest, "invalid_request_error", "", "", "expected a multipart/form-data upload: "+err.Error())
		return
	}
	if p := r.FormValue("purpose"); p != "batch" {
		o.fail.write(w, http.StatusBadRequest, "invalid_request_error", "", "purpose", fmt.Sprintf("'%s' is not one of ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] - 'purpose'", p))
		return
	}
	f, h, err := r.FormFile("file")
	if err != nil {
		o.fail.write(w, http.StatusBadRequest, "invalid_request_error", "", "file", "a file is required")
		return
	}
	defer f.Close()
	data, _ := io.ReadAll(f)
	b.mu.Lock()
	b.seq++
	id := fmt.Sprintf("file-%d", b.seq)
	b.files[id] = data
	b.mu.Unlock()
	oaiJSON(w, map[string]any{"id": id, "object": "file", "bytes": len(data), "created_at": time.Now().Unix(),
		"filename": h.Filename, "purpose": "batch"})
}

// createBatch validates the input file and runs every request at once; the answers are
// released to polls after SetBatchPolls polls.
func (o *OpenAI) createBatch(w http.ResponseWriter, body []byte, b *oaiBatches) {
	var in struct {
		InputFileID      string `json:"input_file_id"`
		Endpoint         string `json:"endpoint"`
		CompletionWindow string `json:"completion_window"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		o.fail.write(w, http.StatusBadRequest, "invalid_request_error", "", "", "We could not parse the JSON body of your request.")
		return
	}
	if in.Endpoint != "/v1/chat/completions" && in.Endpoint != "/v1/embeddings" && in.Endpoint != "/v1/responses" && in.Endpoint != "/v1/completions" {
		o.fail.write(w, http.StatusBadRequest, "invalid_request_error", "", "endpoint", "Invalid endpoint: "+in.Endpoint)
		return
	}
	if in.CompletionWindow != "24h" {
		o.fail.write(w, http.StatusBadRequest, "invalid_request_error", "", "completion_window", "completion_window must be '24h'")
		return
	}
	b.mu.Lock()
	data, ok := b.files[in.InputFileID]
	itemError := b.itemError
	b.seq++
	id := fmt.Sprintf("batch_%d", b.seq)
	b.mu.Unlock()
	if !ok {
		o.fail.write(w, http.StatusNotFound, "invalid_request_error", "", "input_file_id", "No such File object: "+in.InputFileID)
		return
	}
	job := &oaiBatch{}
	var outLines, errLines bytes.Buffer
	var lineErrs []map[string]any
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		var line struct {
			CustomID string          `json:"custom_id"`
			Method   string          `json:"method"`
			URL      string          `json:"url"`
			Body     json.RawMessage `json:"body"`
		}
		switch err := json.Unmarshal(sc.Bytes(), &line); {
		case err != nil:
			lineErrs = append(lineErrs, map[string]any{"code": "invalid_json_line", "message": "This line is not parseable as valid JSON.", "line": n})
			continue
		case line.CustomID == "" || seen[line.CustomID]:
			lineErrs = append(lineErrs, map[string]any{"code": "duplicate_custom_id", "message": "The custom_id for this request is missing or a duplicate.", "line": n})
			continue
		case line.Method != http.MethodPost || line.URL != in.Endpoint:
			lineErrs = append(lineErrs, map[string]any{"code": "mismatched_endpoint", "message": "The endpoint of this request does not match the batch's endpoint.", "line": n})
			continue
		}
		seen[line.CustomID] = true
		b.mu.Lock()
		b.submitted[line.CustomID]++
		b.items++
		b.mu.Unlock()
		status, respBody := http.StatusOK, []byte(nil)
		if msg := ""; itemError != nil {
			msg = itemError(line.CustomID)
			if msg != "" {
				status = http.StatusBadRequest
				respBody, _ = json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "param": nil, "code": nil}})
			}
		}
		if respBody == nil {
			rec := httptest.NewRecorder()
			if in.Endpoint == "/v1/embeddings" {
				o.embeddings(rec, line.Body, nil)
			} else {
				o.chat(rec, line.Body, nil)
			}
			status, respBody = rec.Code, rec.Body.Bytes()
		}
		out := map[string]any{"id": fmt.Sprintf("batch_req_%s_%d", id, n), "custom_id": line.CustomID,
			"response": map[string]any{"status_code": status, "request_id": fmt.Sprintf("req_%s_%d", id, n), "body": json.RawMessage(bytes.TrimSpace(respBody))},
			"error":    nil}
		enc, _ := json.Marshal(out)
		if status == http.StatusOK {
			outLines.Write(append(enc, '\n'))
			job.done++
		} else {
			errLines.Write(append(enc, '\n'))
			job.fail++
		}
	}
	now := time.Now().Unix()
	job.obj = map[string]any{"id": id, "object": "batch", "endpoint": in.Endpoint, "errors": nil, "input_file_id": in.InputFileID,
		"completion_window": "24h", "status": "validating", "output_file_id": nil, "error_file_id": nil, "created_at": now,
		"in_progress_at": nil, "expires_at": now + 86400, "finalizing_at": nil, "completed_at": nil, "failed_at": nil,
		"expired_at": nil, "cancelling_at": nil, "cancelled_at": nil,
		"request_counts": map[string]any{"total": 0, "completed": 0, "failed": 0}, "metadata": nil}
	b.mu.Lock()
	if len(lineErrs) > 0 {
		job.obj["status"], job.obj["failed_at"] = "failed", now
		job.obj["errors"] = map[string]any{"object": "list", "data": lineErrs}
		job.polls = -1
	} else {
		if outLines.Len() > 0 {
			b.seq++
			job.out = fmt.Sprintf("file-%d", b.seq)
			b.files[job.out] = outLines.Bytes()
		}
		if errLines.Len() > 0 {
			b.seq++
			job.errs = fmt.Sprintf("file-%d", b.seq)
			b.files[job.errs] = errLines.Bytes()
		}
	}
	b.jobs[id] = job
	obj := job.snapshot()
	b.mu.Unlock()
	oaiJSON(w, obj)
}

// getBatch answers a poll, moving the batch on.
func (o *OpenAI) getBatch(w http.ResponseWriter, id string, b *oaiBatches) {
	b.mu.Lock()
	job, ok := b.jobs[id]
	if !ok {
		b.mu.Unlock()
		o.fail.write(w, http.StatusNotFound, "invalid_request_error", "", "", "No batch found with id '"+id+"'.")
		return
	}
	total := job.done + job.fail
	switch {
	case job.polls < 0: // failed validation: stays failed
	case job.polls < b.polls:
		if job.polls > 0 {
			job.obj["status"], job.obj["in_progress_at"] = "in_progress", time.Now().Unix()
		}
		job.obj["request_counts"] = map[string]any{"total": total, "completed": 0, "failed": 0}
		job.polls++
	default:
		now := time.Now().Unix()
		job.obj["status"], job.obj["completed_at"], job.obj["finalizing_at"] = "completed", now, now
		job.obj["request_counts"] = map[string]any{"total": total, "completed": job.done, "failed": job.fail}
		if job.out != "" {
			job.obj["output_file_id"] = job.out
		}
		if job.errs != "" {
			job.obj["error_file_id"] = job.errs
		}
	}
	obj := job.snapshot()
	b.mu.Unlock()
	oaiJSON(w, obj)
}

func (j *oaiBatch) snapshot() map[string]any {
	out := make(map[string]any, len(j.obj))
	for k, v := range j.obj {
		out[k] = v
	}
	return out
}

func oaiJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
