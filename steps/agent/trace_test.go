package agent

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/aiflow/aiflow/internal/telemetry/genai"
	"github.com/aiflow/aiflow/providers"
)

// TestTurnAndToolSpans checks that a traced agent run opens a GenAI chat span per model
// turn and an execute_tool span per tool call, under the step's span, with usage and
// the tool's name; that the conversation is exported only with content capture, the
// secret redacted; and that an untraced run opens none.
func TestTurnAndToolSpans(t *testing.T) {
	const secret = "kb-secret-value-42"
	tests := []struct {
		name    string
		capture bool
	}{{"metadata only", false}, {"with content", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gen := scripted(func(n int, req providers.GenerateRequest) providers.GenerateResponse {
				if n == 0 {
					return providers.GenerateResponse{ToolCalls: []providers.ToolCall{{ID: "c1", Name: "search_kb", Arguments: []byte(`{"query":"` + secret + `"}`)}},
						Usage: providers.Usage{InputTokens: 20, OutputTokens: 5}}
				}
				return providers.GenerateResponse{Text: "Feed it daily.", FinishReason: "stop", Usage: providers.Usage{InputTokens: 40, OutputTokens: 4}}
			})
			var inputs []map[string]any
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			defer tp.Shutdown(context.Background())
			ctx := context.Background()
			if tt.capture {
				ctx = genai.WithCapture(ctx, func(s string) string { return strings.ReplaceAll(s, secret, "[REDACTED]") })
			}
			ctx, step := tp.Tracer("test").Start(ctx, "step a")
			if _, err := build(t, search).Run(ctx, agentCall(gen, kbEnv(&inputs), nil)); err != nil {
				t.Fatal(err)
			}
			step.End()
			var names []string
			byName := map[string]tracetest.SpanStub{}
			for _, s := range exp.GetSpans() {
				names = append(names, s.Name)
				byName[s.Name] = s
				if s.Name != "step a" && s.Parent.SpanID() != step.SpanContext().SpanID() {
					t.Errorf("span %q is not a child of the step's span", s.Name)
				}
			}
			if len(names) != 4 || byName["chat m"].Name == "" || byName["execute_tool search_kb"].Name == "" {
				t.Fatalf("spans %q; want two chat turns, one execute_tool and the step", names)
			}
			turns := 0
			for _, s := range exp.GetSpans() {
				a := attrMap(s)
				if s.Name == "chat m" {
					turns++
					if a["gen_ai.operation.name"].AsString() != "chat" || a["gen_ai.request.model"].AsString() != "m" || a["gen_ai.usage.input_tokens"].AsInt64() == 0 {
						t.Errorf("turn span attributes %v", s.Attributes)
					}
					if _, ok := a["gen_ai.input.messages"]; ok != tt.capture {
						t.Errorf("turn span: gen_ai.input.messages present = %v, want %v", ok, tt.capture)
					}
				}
			}
			if turns != 2 {
				t.Errorf("%d turn spans, want 2", turns)
			}
			tool := attrMap(byName["execute_tool search_kb"])
			if tool["gen_ai.tool.name"].AsString() != "search_kb" || tool["gen_ai.tool.call.id"].AsString() != "c1" || byName["execute_tool search_kb"].Status.Code == codes.Error {
				t.Errorf("tool span: %v, status %v", byName["execute_tool search_kb"].Attributes, byName["execute_tool search_kb"].Status)
			}
			if args := tool["gen_ai.tool.call.arguments"].AsString(); tt.capture != (args == `{"query":"[REDACTED]"}`) {
				t.Errorf("tool span arguments %q (capture %v)", args, tt.capture)
			}
			for _, s := range exp.GetSpans() {
				for _, kv := range s.Attributes {
					if strings.Contains(kv.Value.Emit(), secret) {
						t.Errorf("span %q attribute %s holds the secret", s.Name, kv.Key)
					}
				}
			}
		})
	}

	t.Run("untraced", func(t *testing.T) {
		exp := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		defer tp.Shutdown(context.Background())
		var inputs []map[string]any
		gen := scripted(func(n int, req providers.GenerateRequest) providers.GenerateResponse {
			return providers.GenerateResponse{Text: "done"}
		})
		if _, err := build(t, search).Run(context.Background(), agentCall(gen, kbEnv(&inputs), nil)); err != nil {
			t.Fatal(err)
		}
		if n := len(exp.GetSpans()); n != 0 {
			t.Errorf("%d spans from an untraced run", n)
		}
	})
}

func attrMap(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}
