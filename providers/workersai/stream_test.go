package workersai_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func TestGenerateStream(t *testing.T) {
	tests := []struct {
		name          string
		opts          []wiretest.CloudflareOption
		responder     wiretest.CFResponder
		cut           bool
		wantText      string
		wantDeltas    int
		wantErr       string
		wantRetryable bool
	}{
		{name: "native events with padding", wantText: "echo: one two three", wantDeltas: 4},
		{name: "openai chunk events", opts: []wiretest.CloudflareOption{wiretest.WithCFStreamStyle(wiretest.CFStreamOpenAI)}, wantText: "echo: one two three", wantDeltas: 4},
		{name: "cut after tokens is final", cut: true, wantDeltas: 2, wantErr: "stream ended before [DONE] after 2 text deltas"},
		{name: "cut before any token is retryable", cut: true, wantErr: "stream ended before [DONE] after 0 text deltas", wantRetryable: true,
			responder: func(wiretest.CFRun) (any, bool) { return map[string]any{"response": ""}, true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t, tt.opts...)
			cf.SetResponder(tt.responder)
			if tt.cut {
				cf.Faults.Add(wiretest.Fault{CutStream: true})
			}
			p := open(t, cf, nil)
			var deltas []string
			got, err := p.Generate(context.Background(), providers.GenerateRequest{
				Model: llama, Messages: user("one two three"), Stream: func(d string) { deltas = append(deltas, d) }})
			if len(deltas) != tt.wantDeltas {
				t.Errorf("%d deltas %q, want %d", len(deltas), deltas, tt.wantDeltas)
			}
			if tt.wantErr != "" {
				pe := providerError(t, err)
				if !strings.Contains(pe.Error(), tt.wantErr) || pe.Retryable != tt.wantRetryable || pe.Model != llama {
					t.Errorf("error %q retryable %v, want %q retryable %v", pe.Error(), pe.Retryable, tt.wantErr, tt.wantRetryable)
				}
				if got.Text != "" {
					t.Errorf("partial text %q returned with the error", got.Text)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != tt.wantText || strings.Join(deltas, "") != tt.wantText {
				t.Errorf("text %q deltas %q, want %q", got.Text, deltas, tt.wantText)
			}
			if diff := cmp.Diff(providers.Usage{InputTokens: 3, OutputTokens: 4}, providers.Usage{InputTokens: got.Usage.InputTokens, OutputTokens: got.Usage.OutputTokens}); diff != "" {
				t.Errorf("usage from the last event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStreamJSONModeFallsBackToOneDelta(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	var deltas []string
	got, err := p.Generate(context.Background(), providers.GenerateRequest{Model: llama, Messages: user("x"),
		JSONSchema: map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "boolean"}}},
		Stream:     func(d string) { deltas = append(deltas, d) }})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`{"a":true}`}, deltas); diff != "" || got.JSON == nil {
		t.Errorf("deltas (-want +got):\n%s json %v", diff, got.JSON)
	}
	checkSent(t, cf, map[string]any{"stream": nil})
}

// TestStreamToolCalls runs a streamed tool call end to end against the emulator, which
// sends it in the fragments Workers AI uses (start, argument deltas, null finaliser; see
// cloudflare/ai packages/workers-ai-provider/src/streaming.ts), in both event styles.
func TestStreamToolCalls(t *testing.T) {
	for _, style := range []struct {
		name string
		opts []wiretest.CloudflareOption
	}{{name: "native"}, {name: "openai", opts: []wiretest.CloudflareOption{wiretest.WithCFStreamStyle(wiretest.CFStreamOpenAI)}}} {
		t.Run(style.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t, style.opts...)
			p := open(t, cf, nil)
			got, err := p.Generate(context.Background(), providers.GenerateRequest{Model: llama, Messages: user("Lisbon"),
				Tools: []providers.ToolSpec{weatherTool}, Stream: func(string) {}})
			if err != nil {
				t.Fatal(err)
			}
			want := []providers.ToolCall{{ID: "chatcmpl-tool-emu0", Name: "get_weather", Arguments: []byte(`{"city":"Lisbon"}`)}}
			if diff := cmp.Diff(want, got.ToolCalls); diff != "" || got.FinishReason != "tool_calls" {
				t.Errorf("tool calls (-want +got):\n%s finish %q", diff, got.FinishReason)
			}
		})
	}
}
