package engine

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/tokens"
)

// TestContextWarning: the texts of a batched embed meet the 512-token context window one
// by one; the plan used to warn about their sum ("about 702 tokens" for 200-token chunks).
func TestContextWarning(t *testing.T) {
	words := func(n int) string { return strings.TrimSpace(strings.Repeat("tide ", n)) }
	chunk, long := words(200), words(600)
	if n := tokens.Count(chunk); n < 150 || n > 250 {
		t.Fatalf("setup: a chunk is %d tokens", n)
	}
	tests := []struct {
		name   string
		inputs map[string]any
		want   string // "" for no warning
	}{
		{"batch of short texts", map[string]any{"texts": []string{chunk, chunk, chunk, chunk}}, ""},
		{"batch as a list value", map[string]any{"texts": []any{chunk, chunk, chunk}}, ""},
		{"batch with one long text", map[string]any{"texts": []string{chunk, long, chunk}}, "the longest text, of about"},
		{"one long text", map[string]any{"texts": []string{long}}, "input of about"},
		{"one short text", map[string]any{"text": chunk}, ""},
		{"one long text input", map[string]any{"text": long}, "input of about"},
	}
	m := &steps.Model{ProviderKind: "workers-ai", ID: "@cf/baai/bge-small-en-v1.5"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			est := estimateCall(providers.TaskEmbed, &steps.Call{Inputs: tt.inputs, Model: m})
			if est.ContextWindow != 512 {
				t.Fatalf("setup: context window %d", est.ContextWindow)
			}
			got := contextWarning(est, m.Ref())
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("warning = %q, want %q", got, tt.want)
			}
		})
	}
}
