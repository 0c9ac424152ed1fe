package engine

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

// Tracer opens a span around a run, each of its steps and each for_each item, so a
// trace viewer shows where a run spent its time and money. It is the engine's only seam
// to tracing: the engine never imports an SDK, and a nil RunOptions.Tracer costs nothing
// (no span, no attribute, no lookup). The context Start returns carries the span; the
// engine hands it to the step's calls, so spans opened by providers and steps (HTTP
// attempts, agent turns) nest inside. Implementations must be safe for concurrent use.
type Tracer interface {
	Start(ctx context.Context, s SpanStart) (context.Context, Span)
}

// Span is one open span of a Tracer.
type Span interface {
	// TraceID is the trace's id in hex; the run records it (store.Run.TraceID).
	TraceID() string
	// Event adds something that happened inside the span: a retry (EventRetry), a
	// rate-limiter wait (EventRateWait) or a fallback to another model (EventFallback).
	Event(Event)
	// End closes the span with its outcome.
	End(SpanEnd)
}

// SpanStart says what a span covers.
type SpanStart struct {
	RunID string
	Flow  string // the flow's name
	// StepID is "" for the run's span.
	StepID string
	Kind   string         // the step's uses:
	Task   providers.Task // the step kind's model task, "" for kinds without one
	Item   int            // for_each index; -1 for the step (or the run) itself
	// Time is when the span began; zero means now. Items of a batched call get their
	// spans when their answers are recorded, dated back to when the call began.
	Time time.Time
	// Redact hides the run's secrets (env() values) in text the tracer exports.
	Redact func(string) string
}

// SpanEnd is how a run, step or item ended.
type SpanEnd struct {
	Status string // StatusSucceeded, StatusCached, StatusFailed, StatusSkipped, StatusCancelled
	Error  string // the failure, secrets redacted
	// ErrorType is a low-cardinality class of the failure (OpenTelemetry's error.type):
	// the provider's error code or HTTP status, timeout, cancelled, budget, expression.
	ErrorType string
	Reason    string // skip or fallback reason
	Model     string // provider:model-id that served the call
	Usage     providers.Usage
	Attempts  int
	Cached    bool // served from the step cache or a resumed run's records
	Items     int  // for_each items of a step
	// Call is the call as executed (model, params, prompt); nil for the run, skipped
	// steps and cached items. Output is what it produced. A tracer exports neither
	// unless asked to capture content, and then only redacted.
	Call   *steps.Call
	Output any
}

// spanKey names the span of a step (item -1) or of one of its items.
type spanKey struct {
	step string
	item int
}

// openSpan is a span and the context that carries it.
type openSpan struct {
	ctx  context.Context
	span Span
}

// spans holds a traced run's open step and item spans, so a call finds the context to
// run in and events find their span. It is nil when the run is not traced.
type spans struct {
	mu   sync.Mutex
	open map[spanKey]openSpan
}

// startSpan opens the span of step n (item -1) or of its item, as a child of the step's
// span (or of the run's), when the run is traced; it returns nil otherwise.
func (w *walker) startSpan(n *Node, item int, at time.Time) Span {
	if w.spans == nil {
		return nil
	}
	parent := w.ctx
	if item >= 0 {
		parent = w.callCtx(n, -1)
	}
	ctx, sp := w.opts.Tracer.Start(parent, SpanStart{RunID: w.runID, Flow: w.fl.Spec.Name, StepID: n.ID, Kind: n.Spec.Uses, Task: n.Kind.Task,
		Item: item, Time: at, Redact: w.fl.Redact})
	w.spans.mu.Lock()
	w.spans.open[spanKey{n.ID, item}] = openSpan{ctx, sp}
	w.spans.mu.Unlock()
	return sp
}

// endSpan closes the open span of n's item (-1: the step) with e; nothing when there is
// none.
func (w *walker) endSpan(n *Node, item int, e SpanEnd) {
	if w.spans == nil {
		return
	}
	k := spanKey{n.ID, item}
	w.spans.mu.Lock()
	o, ok := w.spans.open[k]
	delete(w.spans.open, k)
	w.spans.mu.Unlock()
	if ok {
		o.span.End(e)
	}
}

// closeSpan ends the span of n's item (-1: the step) with e, opening it first, dated
// back to start, when there is none open: an item answered in a batch or taken from a
// resumed run's records, a step skipped before it started.
func (w *walker) closeSpan(n *Node, item int, start time.Time, e SpanEnd) {
	if w.spans == nil {
		return
	}
	w.spans.mu.Lock()
	_, live := w.spans.open[spanKey{n.ID, item}]
	w.spans.mu.Unlock()
	if !live {
		w.startSpan(n, item, start)
	}
	w.endSpan(n, item, e)
}

// endItemSpan closes the span of item idx of n with how its call went.
func (w *walker) endItemSpan(n *Node, idx int, start time.Time, cr callRecord, out any, err error) {
	if w.spans == nil {
		return
	}
	e := SpanEnd{Status: StatusSucceeded, Model: cr.model, Usage: cr.usage, Attempts: cr.attempts, Cached: cr.cached, Reason: cr.reason, Call: cr.call, Output: out}
	switch {
	case err != nil:
		e.Status, e.Error, e.ErrorType, e.Output = StatusFailed, w.fl.Redact(err.Error()), errorType(err), nil
	case cr.cached:
		e.Status = StatusCached
	}
	w.closeSpan(n, idx, start, e)
}

// callCtx is the context n's calls for item run in: the item's span, else the step's,
// else the run's.
func (w *walker) callCtx(n *Node, item int) context.Context {
	if w.spans == nil {
		return w.ctx
	}
	w.spans.mu.Lock()
	defer w.spans.mu.Unlock()
	if o, ok := w.spans.open[spanKey{n.ID, item}]; ok {
		return o.ctx
	}
	if o, ok := w.spans.open[spanKey{n.ID, -1}]; ok {
		return o.ctx
	}
	return w.ctx
}

// spanEvent adds e to the span of n's item (or of the step).
func (w *walker) spanEvent(n *Node, item int, e Event) {
	if w.spans == nil {
		return
	}
	w.spans.mu.Lock()
	o, ok := w.spans.open[spanKey{n.ID, item}]
	if !ok {
		o, ok = w.spans.open[spanKey{n.ID, -1}]
	}
	w.spans.mu.Unlock()
	if ok {
		o.span.Event(e)
	}
}

// stepSpanEnd is how step n ended, from its state.
func stepSpanEnd(st *stepState) SpanEnd {
	r := st.result
	return SpanEnd{Status: r.Status, Error: r.Error, ErrorType: errorType(st.err), Reason: r.Reason, Model: r.Model, Usage: r.Usage, Attempts: r.Attempts,
		Cached: r.Status == StatusCached, Items: r.Items, Call: st.call, Output: st.output}
}

// errorType classes err for a span's error.type; "" for nil.
func errorType(err error) string {
	if err == nil {
		return ""
	}
	var pe *providers.Error
	var te *TimeoutError
	var be *BudgetError
	var ee *ExprError
	switch {
	case errors.As(err, &pe) && pe.Code != "":
		return pe.Code
	case errors.As(err, &pe) && pe.Status != 0:
		return strconv.Itoa(pe.Status)
	case errors.As(err, &te), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &be):
		return "budget"
	case errors.As(err, &ee):
		return "expression"
	case pe != nil:
		return "provider"
	}
	return "_OTHER"
}
