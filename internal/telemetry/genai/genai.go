// Package genai is what aiflow's spans share across packages that must not import one
// another (the engine's tracer, providers/transport, steps/agent): the aiflow.* attribute
// keys, the GenAI operation name of each task, the tracer to open child spans with, and
// whether a span may carry prompts and completions.
//
// Everything here is free when the run is not traced: Tracer and Capture only look the
// context up, and callers check Traced before building an attribute.
package genai

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of every aiflow span.
const ScopeName = "github.com/aiflow/aiflow"

// aiflow's own attributes, beside the OpenTelemetry GenAI semantic conventions.
const (
	RunID     = attribute.Key("aiflow.run.id")
	FlowName  = attribute.Key("aiflow.flow.name")
	StepID    = attribute.Key("aiflow.step.id")
	StepKind  = attribute.Key("aiflow.step.kind")
	ItemIndex = attribute.Key("aiflow.item.index")
	Items     = attribute.Key("aiflow.items")
	Status    = attribute.Key("aiflow.status")
	Reason    = attribute.Key("aiflow.reason")
	CostUSD   = attribute.Key("aiflow.cost.usd")
	Neurons   = attribute.Key("aiflow.usage.neurons")
	// A run's token totals (its model calls carry gen_ai.usage.*).
	InputTokens  = attribute.Key("aiflow.usage.input_tokens")
	OutputTokens = attribute.Key("aiflow.usage.output_tokens")
	CacheHit     = attribute.Key("aiflow.cache.hit")
	Attempt      = attribute.Key("aiflow.attempt")  // 1-based number of an HTTP attempt
	Attempts     = attribute.Key("aiflow.attempts") // attempts a call made
	Retries      = attribute.Key("aiflow.retries")  // attempts - 1, when more than one
	RateWaitMS   = attribute.Key("aiflow.rate_limit.wait_ms")
	Provider     = attribute.Key("aiflow.provider") // the flow's providers: entry
	AgentTurn    = attribute.Key("aiflow.agent.turn")
	ToolKind     = attribute.Key("aiflow.tool.kind")
	BackoffMS    = attribute.Key("aiflow.retry.backoff_ms")
	Fallback     = attribute.Key("aiflow.fallback.model")
	ErrorDetail  = attribute.Key("aiflow.error")
	// A dataset run (run --inputs): its input file, and its rows run and failed.
	DatasetInputs = attribute.Key("aiflow.dataset.inputs")
	DatasetRows   = attribute.Key("aiflow.dataset.rows")
	DatasetFailed = attribute.Key("aiflow.dataset.failed")
)

// Span event names.
const (
	EventRateWait = "aiflow.rate_limit.wait"
	EventRetry    = "aiflow.retry"
	EventFallback = "aiflow.fallback"
)

// Traced reports whether ctx carries a span of a traced run; every instrumentation
// point checks it first, so an untraced run builds no span and no attribute.
func Traced(ctx context.Context) bool { return trace.SpanContextFromContext(ctx).IsValid() }

// Tracer returns the tracer of the span in ctx, so a child span goes to the same
// provider (and exporter) as its parent without any global.
func Tracer(ctx context.Context) trace.Tracer {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer(ScopeName)
}

type captureKey struct{}

// WithCapture marks ctx: spans opened under it may carry prompts and completions, after
// redact has hidden the run's secrets in them.
func WithCapture(ctx context.Context, redact func(string) string) context.Context {
	if redact == nil {
		redact = func(s string) string { return s }
	}
	return context.WithValue(ctx, captureKey{}, redact)
}

// Capture returns the redaction to apply to content a span may carry, or nil when
// content must not be exported (the default).
func Capture(ctx context.Context) func(string) string {
	f, _ := ctx.Value(captureKey{}).(func(string) string)
	return f
}

// Operation is the gen_ai.operation.name of a model task: the convention's well-known
// value where one fits (chat, embeddings, generate_content), else the task's own name.
func Operation(task string) string {
	switch task {
	case "generate", "chat":
		return "chat"
	case "embed":
		return "embeddings"
	case "generate-image":
		return "generate_content"
	case "":
		return ""
	}
	return task
}
