package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/aiflow/aiflow/internal/telemetry/genai"
	"github.com/aiflow/aiflow/providers"
)

// maxSpanContent bounds a turn's or tool call's content on its span, in bytes.
const maxSpanContent = 16 << 10

// startTurn opens the span of model turn n (a GenAI "chat" CLIENT span under the step's
// or item's span) when the run is traced; ctx and a nil span otherwise. With content
// capture on, the conversation sent becomes gen_ai.input.messages, redacted.
func (s *session) startTurn(ctx context.Context, n int) (context.Context, trace.Span) {
	if !genai.Traced(ctx) {
		return ctx, nil
	}
	attrs := []attribute.KeyValue{semconv.GenAIOperationNameChat, genai.AgentTurn.Int(n), genai.StepID.String(s.call.StepID)}
	name := "chat"
	if m := s.model; m != nil {
		attrs = append(attrs, semconv.GenAIProviderNameKey.String(m.ProviderKind), genai.Provider.String(m.ProviderName))
		if m.ID != "" {
			attrs = append(attrs, semconv.GenAIRequestModelKey.String(m.ID))
			name += " " + m.ID
		}
	}
	if redact := genai.Capture(ctx); redact != nil {
		attrs = append(attrs, semconv.GenAIInputMessagesKey.String(clipContent(redact, s.msgs)))
	}
	return genai.Tracer(ctx).Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// endTurn closes a turn's span with the answer's usage, finish reason and tool calls.
func endTurn(ctx context.Context, sp trace.Span, resp providers.GenerateResponse, err error) {
	if sp == nil {
		return
	}
	attrs := []attribute.KeyValue{semconv.GenAIUsageInputTokensKey.Int(resp.Usage.InputTokens), semconv.GenAIUsageOutputTokensKey.Int(resp.Usage.OutputTokens)}
	if resp.Usage.USD > 0 {
		attrs = append(attrs, genai.CostUSD.Float64(resp.Usage.USD))
	}
	if resp.Usage.Neurons > 0 {
		attrs = append(attrs, genai.Neurons.Float64(resp.Usage.Neurons))
	}
	if resp.FinishReason != "" {
		attrs = append(attrs, semconv.GenAIResponseFinishReasonsKey.StringSlice([]string{resp.FinishReason}))
	}
	if redact := genai.Capture(ctx); redact != nil && err == nil {
		out := providers.Message{Role: "assistant", Content: answerText(resp), ToolCalls: resp.ToolCalls}
		attrs = append(attrs, semconv.GenAIOutputMessagesKey.String(clipContent(redact, []providers.Message{out})))
	}
	sp.SetAttributes(attrs...)
	if err != nil {
		sp.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
		sp.SetStatus(codes.Error, redactWith(ctx, err.Error()))
	}
	sp.End()
}

// startTool opens the span of one tool call (GenAI "execute_tool") when traced.
func startTool(ctx context.Context, c providers.ToolCall) (context.Context, trace.Span) {
	if !genai.Traced(ctx) {
		return ctx, nil
	}
	attrs := []attribute.KeyValue{semconv.GenAIOperationNameExecuteTool, semconv.GenAIToolNameKey.String(c.Name), semconv.GenAIToolCallIDKey.String(c.ID)}
	if redact := genai.Capture(ctx); redact != nil {
		attrs = append(attrs, attribute.String("gen_ai.tool.call.arguments", clipSpan(redact(string(c.Arguments)))))
	}
	return genai.Tracer(ctx).Start(ctx, "execute_tool "+c.Name, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
}

// endTool closes a tool call's span: failed when the tool failed or was not run.
func endTool(ctx context.Context, sp trace.Span, o outcome) {
	if sp == nil {
		return
	}
	if redact := genai.Capture(ctx); redact != nil {
		sp.SetAttributes(attribute.String("gen_ai.tool.call.result", clipSpan(redact(o.content))))
	}
	if o.usage.USD > 0 {
		sp.SetAttributes(genai.CostUSD.Float64(o.usage.USD))
	}
	if o.failed {
		typ := "tool_error"
		if o.badArgs {
			typ = "invalid_arguments"
		}
		sp.SetAttributes(semconv.ErrorTypeKey.String(typ))
		sp.SetStatus(codes.Error, redactWith(ctx, shorten(o.content, 500)))
	}
	sp.End()
}

// redactWith hides the run's secrets in s when content capture gave a redaction; error
// text reaching a step is already redacted by the provider's client.
func redactWith(ctx context.Context, s string) string {
	if redact := genai.Capture(ctx); redact != nil {
		return redact(s)
	}
	return s
}

// errorType is a failed turn's error.type: the provider's code or HTTP status.
func errorType(err error) string {
	var pe *providers.Error
	var le *LimitError
	switch {
	case errors.As(err, &pe) && pe.Code != "":
		return pe.Code
	case pe != nil && pe.Status != 0:
		return strconv.Itoa(pe.Status)
	case errors.As(err, &le):
		return "limit"
	}
	return "_OTHER"
}

// clipContent encodes msgs as JSON, redacts it (strings first, so JSON escaping cannot
// hide a secret from the redaction) and caps it.
func clipContent(redact func(string) string, msgs []providers.Message) string {
	out := make([]providers.Message, len(msgs))
	for i, m := range msgs {
		m.Content = redact(m.Content)
		if len(m.ToolCalls) > 0 {
			calls := make([]providers.ToolCall, len(m.ToolCalls))
			for j, c := range m.ToolCalls {
				c.Arguments = []byte(redact(string(c.Arguments)))
				calls[j] = c
			}
			m.ToolCalls = calls
		}
		out[i] = m
	}
	b, err := json.Marshal(out)
	if err != nil {
		return ""
	}
	return clipSpan(redact(string(b)))
}

func clipSpan(s string) string {
	if len(s) <= maxSpanContent {
		return s
	}
	return shorten(s, maxSpanContent)
}
