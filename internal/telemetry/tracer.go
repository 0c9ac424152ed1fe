package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/internal/telemetry/genai"
	"github.com/aiflow/aiflow/steps"
)

// maxContent bounds one exported content attribute (prompt, input or output), in bytes.
const maxContent = 16 << 10

// Engine returns the engine.Tracer that turns a run, its steps and its for_each items
// into spans: the run's is the root (or a child of TRACEPARENT's span, see Parent), with
// the GenAI semantic conventions' attributes on the spans of model calls.
func (t *Tracing) Engine() engine.Tracer {
	if t == nil {
		return nil
	}
	return &engineTracer{tracer: t.tracer, content: t.content}
}

// NewEngineTracer is Engine for a tracer of the caller's (tests use the SDK's).
func NewEngineTracer(tr trace.Tracer, content bool) engine.Tracer {
	return &engineTracer{tracer: tr, content: content}
}

type engineTracer struct {
	tracer  trace.Tracer
	content bool
}

func (et *engineTracer) Start(ctx context.Context, s engine.SpanStart) (context.Context, engine.Span) {
	var name string
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, genai.RunID.String(s.RunID))
	switch {
	case s.StepID == "":
		name = "run " + s.Flow
		attrs = append(attrs, genai.FlowName.String(s.Flow))
	case s.Item < 0:
		name = "step " + s.StepID
	default:
		name = fmt.Sprintf("item %s[%d]", s.StepID, s.Item)
		attrs = append(attrs, genai.ItemIndex.Int(s.Item))
	}
	if s.StepID != "" {
		attrs = append(attrs, genai.StepID.String(s.StepID), genai.StepKind.String(s.Kind))
		if s.Kind == "agent" { // its model turns and tool calls are spans inside
			attrs = append(attrs, semconv.GenAIOperationNameInvokeAgent, semconv.GenAIAgentNameKey.String(s.StepID))
		} else if op := genai.Operation(string(s.Task)); op != "" {
			attrs = append(attrs, semconv.GenAIOperationNameKey.String(op))
		}
	}
	opts := []trace.SpanStartOption{trace.WithAttributes(attrs...), trace.WithSpanKind(trace.SpanKindInternal)}
	if !s.Time.IsZero() {
		opts = append(opts, trace.WithTimestamp(s.Time))
	}
	ctx, sp := et.tracer.Start(ctx, name, opts...)
	redact := s.Redact
	if redact == nil {
		redact = func(s string) string { return s }
	}
	if et.content && s.StepID == "" {
		ctx = genai.WithCapture(ctx, redact) // spans inside (agent turns) may carry content
	}
	return ctx, &span{sp: sp, task: string(s.Task), step: s.StepID != "", redact: redact, content: et.content}
}

// span is one engine span.
type span struct {
	sp       trace.Span
	task     string
	step     bool // a step's or an item's span (not the run's)
	redact   func(string) string
	content  bool
	rateWait atomic.Int64 // nanoseconds the rate limiter held the span's calls
}

func (s *span) TraceID() string {
	sc := s.sp.SpanContext()
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

func (s *span) Event(e engine.Event) {
	if !s.sp.IsRecording() {
		return
	}
	switch e.Type {
	case engine.EventRateWait:
		s.rateWait.Add(int64(e.Elapsed))
		s.sp.AddEvent(genai.EventRateWait, trace.WithTimestamp(e.Time), trace.WithAttributes(genai.RateWaitMS.Float64(ms(e.Elapsed))))
	case engine.EventRetry:
		attrs := []attribute.KeyValue{genai.Attempt.Int(e.Attempt), genai.BackoffMS.Float64(ms(e.Elapsed))}
		if e.Err != nil {
			attrs = append(attrs, genai.ErrorDetail.String(s.redact(e.Err.Error())))
		}
		s.sp.AddEvent(genai.EventRetry, trace.WithTimestamp(e.Time), trace.WithAttributes(attrs...))
	case engine.EventFallback:
		s.sp.AddEvent(genai.EventFallback, trace.WithTimestamp(e.Time), trace.WithAttributes(genai.Fallback.String(e.Model), genai.Reason.String(s.redact(e.Reason))))
	}
}

func ms(d interface{ Seconds() float64 }) float64 { return d.Seconds() * 1000 }

func (s *span) End(e engine.SpanEnd) {
	if !s.sp.IsRecording() {
		s.sp.End()
		return
	}
	attrs := make([]attribute.KeyValue, 0, 16)
	attrs = append(attrs, genai.Status.String(e.Status))
	if e.Reason != "" {
		attrs = append(attrs, genai.Reason.String(s.redact(e.Reason)))
	}
	if s.step {
		attrs = append(attrs, genai.CacheHit.Bool(e.Cached))
	}
	if e.Items > 0 {
		attrs = append(attrs, genai.Items.Int(e.Items))
	}
	if e.Attempts > 0 {
		attrs = append(attrs, genai.Attempts.Int(e.Attempts)) // a for_each step's: its items'
		if e.Attempts > 1 && e.Items == 0 {
			attrs = append(attrs, genai.Retries.Int(e.Attempts-1))
		}
	}
	if w := s.rateWait.Load(); w > 0 {
		attrs = append(attrs, genai.RateWaitMS.Float64(float64(w)/1e6))
	}
	if e.Usage.USD > 0 {
		attrs = append(attrs, genai.CostUSD.Float64(e.Usage.USD))
	}
	if e.Usage.Neurons > 0 {
		attrs = append(attrs, genai.Neurons.Float64(e.Usage.Neurons))
	}
	switch {
	case !s.step: // the run: its totals, not a model call's
		if e.Usage.InputTokens > 0 || e.Usage.OutputTokens > 0 {
			attrs = append(attrs, genai.InputTokens.Int(e.Usage.InputTokens), genai.OutputTokens.Int(e.Usage.OutputTokens))
		}
	case e.Status == engine.StatusSkipped:
	case s.task != "" || e.Usage.InputTokens > 0 || e.Usage.OutputTokens > 0:
		attrs = append(attrs, semconv.GenAIUsageInputTokensKey.Int(e.Usage.InputTokens), semconv.GenAIUsageOutputTokensKey.Int(e.Usage.OutputTokens))
		if e.Usage.CachedTokens > 0 {
			attrs = append(attrs, semconv.GenAIUsageCacheReadInputTokensKey.Int(e.Usage.CachedTokens))
		}
	}
	if e.Status != engine.StatusSkipped {
		attrs = s.modelAttrs(attrs, e)
	}
	if s.content {
		attrs = s.contentAttrs(attrs, e)
	}
	s.sp.SetAttributes(attrs...)
	switch e.Status {
	case engine.StatusFailed, engine.StatusCancelled:
		msg := s.redact(e.Error)
		if msg == "" {
			msg = e.Status
		}
		s.sp.SetAttributes(semconv.ErrorTypeKey.String(errorType(e)))
		s.sp.SetStatus(codes.Error, msg)
	}
	s.sp.End()
}

// errorType is error.type: a low-cardinality class of the failure.
func errorType(e engine.SpanEnd) string {
	if e.ErrorType != "" {
		return e.ErrorType
	}
	if e.Status == engine.StatusCancelled {
		return "cancelled"
	}
	return semconv.ErrorTypeOther.Value.AsString()
}

// modelAttrs adds the GenAI attributes of the model that served the call: the
// provider's kind, the model asked for and the one that answered, and the request
// parameters that were set.
func (s *span) modelAttrs(attrs []attribute.KeyValue, e engine.SpanEnd) []attribute.KeyValue {
	if s.task == "" || !s.step {
		return attrs
	}
	provider, answered, _ := strings.Cut(e.Model, ":")
	if e.Model != "" && !strings.Contains(e.Model, ":") {
		provider, answered = e.Model, ""
	}
	var m *steps.Model
	if e.Call != nil {
		m = e.Call.Model
	}
	if m != nil {
		attrs = append(attrs, semconv.GenAIProviderNameKey.String(m.ProviderKind), genai.Provider.String(m.ProviderName))
		req := m.ID
		if req == "" {
			req = answered
		}
		if req != "" {
			attrs = append(attrs, semconv.GenAIRequestModelKey.String(req))
		}
	} else if provider != "" {
		attrs = append(attrs, genai.Provider.String(provider))
		if answered != "" {
			attrs = append(attrs, semconv.GenAIRequestModelKey.String(answered))
		}
	}
	if answered != "" {
		attrs = append(attrs, semconv.GenAIResponseModelKey.String(answered))
	}
	if e.Call != nil {
		for _, p := range []struct {
			name string
			key  attribute.Key
			int  bool
		}{
			{"temperature", semconv.GenAIRequestTemperatureKey, false},
			{"top_p", semconv.GenAIRequestTopPKey, false},
			{"max_tokens", semconv.GenAIRequestMaxTokensKey, true},
			{"seed", semconv.GenAIRequestSeedKey, true},
		} {
			f, ok := number(e.Call.Params[p.name])
			if !ok {
				continue
			}
			if p.int {
				attrs = append(attrs, p.key.Int64(int64(f)))
			} else {
				attrs = append(attrs, p.key.Float64(f))
			}
		}
	}
	return attrs
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// contentAttrs adds, when content capture is on, the call's prompt (GenAI's
// gen_ai.system_instructions and gen_ai.input.messages), its other inputs and its
// output, each redacted and capped at maxContent bytes.
func (s *span) contentAttrs(attrs []attribute.KeyValue, e engine.SpanEnd) []attribute.KeyValue {
	if c := e.Call; c != nil {
		if p := c.Prompt; p != nil {
			if p.System != "" {
				attrs = append(attrs, semconv.GenAISystemInstructionsKey.String(s.clip(toJSON([]map[string]string{{"type": "text", "content": s.redact(p.System)}}))))
			}
			var msgs []message
			for _, m := range p.Messages {
				msgs = append(msgs, s.textMessage(m.Role, m.Content))
			}
			if p.User != "" {
				msgs = append(msgs, s.textMessage("user", p.User))
			}
			if len(msgs) > 0 {
				attrs = append(attrs, semconv.GenAIInputMessagesKey.String(s.clip(toJSON(msgs))))
			}
		}
		if len(c.Inputs) > 0 {
			attrs = append(attrs, attribute.String("aiflow.input", s.clip(toJSON(s.scrub(c.Inputs)))))
		}
	}
	if e.Output != nil {
		if m, ok := e.Output.(map[string]any); ok && s.task == "generate" {
			if text, ok := m["text"].(string); ok {
				attrs = append(attrs, semconv.GenAIOutputMessagesKey.String(s.clip(toJSON([]message{s.textMessage("assistant", text)}))))
			}
		}
		attrs = append(attrs, attribute.String("aiflow.output", s.clip(toJSON(s.scrub(e.Output)))))
	}
	return attrs
}

// message is a GenAI convention message: a role and its parts.
type message struct {
	Role  string              `json:"role"`
	Parts []map[string]string `json:"parts"`
}

func (s *span) textMessage(role, text string) message {
	return message{Role: role, Parts: []map[string]string{{"type": "text", "content": s.redact(text)}}}
}

func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// scrub returns v with the secrets redacted in every string, before it is encoded: a
// secret JSON would escape (a quote, <, &) would otherwise slip past the redaction.
// Values of other types go through their JSON form first.
func (s *span) scrub(v any) any {
	switch x := v.(type) {
	case nil, bool, int, int64, float64, json.Number:
		return x
	case string:
		return s.redact(x)
	case []byte:
		return fmt.Sprintf("(%d bytes)", len(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[s.redact(k)] = s.scrub(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.scrub(e)
		}
		return out
	}
	b, err := json.Marshal(v)
	if err != nil {
		return s.redact(fmt.Sprintf("%v", v))
	}
	var generic any
	if json.Unmarshal(b, &generic) != nil {
		return s.redact(string(b))
	}
	return s.scrub(generic) // nil, bool, float64, string, map or list: no further round

}

// clip redacts s and caps it at maxContent bytes (on a rune boundary).
func (s *span) clip(text string) string {
	text = s.redact(text)
	if len(text) <= maxContent {
		return text
	}
	cut := maxContent
	for cut > 0 && !isRuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Dataset starts the span of a dataset run (`run --inputs`), the parent of its rows' run
// spans, so a collector shows the batch job as one trace. The returned end records how
// many rows this process ran and how many failed, and err (through redact) as the span's
// error. Tracing off (nil) gives ctx back and an end that does nothing.
func (t *Tracing) Dataset(ctx context.Context, flow, inputs string, redact func(string) string) (context.Context, func(rows, failed int, err error)) {
	if t == nil {
		return ctx, func(int, int, error) {}
	}
	ctx, sp := t.tracer.Start(ctx, "dataset "+flow, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(genai.FlowName.String(flow), genai.DatasetInputs.String(inputs)))
	return ctx, func(rows, failed int, err error) {
		sp.SetAttributes(genai.DatasetRows.Int(rows), genai.DatasetFailed.Int(failed))
		if err != nil {
			sp.SetStatus(codes.Error, redact(err.Error()))
		}
		sp.End()
	}
}
