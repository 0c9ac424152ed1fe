package engine

import (
	"time"

	"github.com/aiflow/aiflow/providers"
)

// EventType says what happened to a step.
type EventType string

// Event types, in the order a step usually produces them.
const (
	EventRunStart   EventType = "run_start"
	EventStepStart  EventType = "step_start"
	EventToken      EventType = "token"
	EventRetry      EventType = "step_retry"
	EventRateWait   EventType = "rate_wait" // a provider's rate limiter holds a call for Elapsed
	EventFallback   EventType = "step_fallback"
	EventBatch      EventType = "batch_poll" // an asynchronous batch was submitted or polled; see Batch
	EventItemDone   EventType = "item_done"
	EventStepDone   EventType = "step_done"
	EventStepCached EventType = "step_cached"
	EventStepSkip   EventType = "step_skipped"
	EventStepFail   EventType = "step_failed"
	EventRunDone    EventType = "run_done"
)

// Event is one typed report from a run. The engine never prints; views render events.
type Event struct {
	Type    EventType
	RunID   string
	StepID  string
	Item    int // for_each index, -1 for the whole step
	Items   int // number of for_each items, when known
	Time    time.Time
	Attempt int
	Model   string // provider:model-id that served the call
	Reason  string // skip or fallback reason
	Text    string // streamed token text
	Err     error
	Usage   providers.Usage
	Elapsed time.Duration
	// Stream is true for the token events of a step whose text is a flow output.
	Stream bool
	// TraceID is, for EventRunStart and EventRunDone of a traced run, the run's
	// OpenTelemetry trace id.
	TraceID string
	// Batch holds, for EventBatch, the batch's request counts as the provider reported
	// them; Elapsed is then the wait before the next poll.
	Batch *BatchCounts
}

// BatchCounts is how far an asynchronous batch has got.
type BatchCounts struct {
	ID      string // the provider's batch id
	Status  string // the provider's word
	Items   int    // requests in the batch
	Queued  int
	Running int
	Done    int
	Failed  int
	Resumed bool // polled again by a resumed run, not submitted
}

// Hook receives events. Implementations must be safe for concurrent use and fast: they run
// on the engine's goroutines.
type Hook interface {
	OnEvent(Event)
}

// HookFunc adapts a function to Hook.
type HookFunc func(Event)

// OnEvent calls f.
func (f HookFunc) OnEvent(e Event) { f(e) }

type hooks []Hook

func (hs hooks) emit(e Event) {
	if len(hs) == 0 {
		return // nobody listens: no clock read
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	for _, h := range hs {
		h.OnEvent(e)
	}
}
