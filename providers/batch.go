package providers

import (
	"context"
	"time"
)

// BatchRequest is one item of an asynchronous batch: exactly one of Generate and Embed is
// set. ID ties the provider's answer to the item (OpenAI and Anthropic custom_id, Workers
// AI external_reference); it is unique within the batch.
type BatchRequest struct {
	ID       string
	Generate *GenerateRequest
	Embed    *EmbedRequest
}

// BatchJob names a submitted batch. The engine records it in the run store before it
// waits, so a resumed run polls the same batch instead of paying for it again; every
// field therefore survives a JSON round trip.
type BatchJob struct {
	ID    string `json:"id"`
	Model string `json:"model"`
	Task  Task   `json:"task"`
	// IDs are the BatchRequest IDs in submission order: Workers AI answers by position
	// when an answer carries no external_reference.
	IDs []string `json:"ids,omitempty"`
	// Extra holds what the provider needs to read an answer that the answer itself
	// does not say (e.g. which requests asked for JSON), by request ID.
	Extra map[string]string `json:"extra,omitempty"`
}

// BatchState is what a poll saw. Counts are of requests; a provider that reports no
// counts leaves them 0 and sets Status.
type BatchState struct {
	Status  string // the provider's word: queued, in_progress, ended, …
	Queued  int
	Running int
	Done    int
	Failed  int
	// Ended is set once the batch will change no more; Results then holds every answer.
	Ended   bool
	Results []BatchResult
}

// BatchResult is one item's answer. Err is the provider's error for that item only;
// the other items of the batch stand.
type BatchResult struct {
	ID       string
	Generate GenerateResponse
	Embed    EmbedResponse
	Err      error
}

// AsyncBatcher is implemented by providers with an asynchronous batch API: requests are
// submitted together, answered later (at a discount, for some providers) and collected
// by polling. A step opts in with `batch: {size: N, async: true}`.
type AsyncBatcher interface {
	// SubmitBatch sends reqs (all of task, for model) and returns the job to poll.
	SubmitBatch(ctx context.Context, task Task, model string, reqs []BatchRequest) (BatchJob, error)
	// PollBatch asks once how the job is doing; when it has ended, the state holds the
	// results.
	PollBatch(ctx context.Context, job BatchJob) (BatchState, error)
	// BatchDiscount is the fraction of the synchronous price a batched request costs
	// (0.5 for half price; 1 when the provider publishes no discount). Usage returned
	// in results is already priced with it.
	BatchDiscount(model string) float64
}

// BatchPollDefault is how long the engine waits before the first poll of a batch; the
// wait doubles after each poll up to BatchPollMax.
const (
	BatchPollDefault = 2 * time.Second
	BatchPollMax     = 5 * time.Minute
)
