package agent

import (
	"context"
	"fmt"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps/internal/jsonout"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

// BenchmarkLoop runs a four-turn conversation (three turns of two parallel step-tool
// calls, then the answer) with an instant model and tools: the loop's own cost per run,
// including argument validation, templates and turn recording.
func BenchmarkLoop(b *testing.B) {
	st, diags := Kind.New(newStep(b, search))
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	a := st.(*agent)
	gen := &steptest.Generator{Fn: func(_ context.Context, req providers.GenerateRequest) (providers.GenerateResponse, error) {
		if turn := (len(req.Messages) - 2) / 3; turn < 3 {
			q := fmt.Sprintf(`{"query":"q%d"}`, turn)
			return providers.GenerateResponse{ToolCalls: []providers.ToolCall{call("search_kb", q), call("search_kb", q)}}, nil
		}
		return providers.GenerateResponse{Text: "done"}, nil
	}}
	var inputs []map[string]any
	b.ReportAllocs()
	for b.Loop() {
		inputs = inputs[:0]
		if _, err := a.Run(context.Background(), agentCall(gen, kbEnv(&inputs), nil)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateArgs checks one call's arguments against a tool schema.
func BenchmarkValidateArgs(b *testing.B) {
	st, _ := Kind.New(newStep(b, search))
	schema := st.(*agent).tools[0].schema
	args := map[string]any{"query": "how do I feed a sourdough starter"}
	b.ReportAllocs()
	for b.Loop() {
		if err := jsonout.Validate(schema, args); err != nil {
			b.Fatal(err)
		}
	}
}
