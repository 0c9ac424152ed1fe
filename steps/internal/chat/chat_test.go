package chat_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/chat"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

func TestMessages(t *testing.T) {
	hist := []providers.Message{{Role: "user", Content: "q1"}, {Role: "assistant", Content: "a1"}, {Role: "tool", Content: "r"}}
	tests := []struct {
		name    string
		prompt  steps.Prompt
		want    []providers.Message
		wantErr string
	}{
		{"system then user", steps.Prompt{System: "be brief", User: "hi"},
			[]providers.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}}, ""},
		{"system, messages, user", steps.Prompt{System: "s", Messages: hist, User: "q2"},
			[]providers.Message{{Role: "system", Content: "s"}, hist[0], hist[1], hist[2], {Role: "user", Content: "q2"}}, ""},
		{"messages only", steps.Prompt{Messages: hist[:1]}, hist[:1], ""},
		{"unknown role", steps.Prompt{Messages: []providers.Message{{Role: "user", Content: "x"}, {Role: "bot", Content: "y"}}}, nil,
			`prompt.messages[1]: unknown role "bot" (allowed: system, user, assistant, tool)`},
		{"system only", steps.Prompt{System: "s", Messages: []providers.Message{{Role: "system", Content: "t"}}}, nil, chat.ErrNoTask.Error()},
		{"empty", steps.Prompt{}, nil, chat.ErrNoTask.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := chat.Messages(&tt.prompt)
			if gotErr := errText(err); gotErr != tt.wantErr {
				t.Fatalf("error %q, want %q", gotErr, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := chat.Messages(&steps.Prompt{System: "s"}); !errors.Is(err, chat.ErrNoTask) {
		t.Errorf("system-only prompt: %v, want ErrNoTask", err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestMaxTokens(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]any
		want   int
	}{
		{"int", map[string]any{"max_tokens": 256}, 256},
		{"float from JSON", map[string]any{"max_tokens": 128.0}, 128},
		{"negative int", map[string]any{"max_tokens": -5}, 0},
		{"zero float", map[string]any{"max_tokens": 0.0}, 0},
		{"huge float", map[string]any{"max_tokens": 1e12}, 0},
		{"string", map[string]any{"max_tokens": "100"}, 0},
		{"absent", map[string]any{"temperature": 0}, 0},
		{"nil params", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chat.MaxTokens(tt.params); got != tt.want {
				t.Errorf("MaxTokens(%v) = %d, want %d", tt.params, got, tt.want)
			}
		})
	}
}

func TestStreamer(t *testing.T) {
	if chat.Streamer(nil) != nil {
		t.Error("a nil env gives a stream callback")
	}
	env := &steptest.Env{}
	emit := chat.Streamer(env)
	for _, d := range []string{"Hel", "", "lo"} {
		emit(d)
	}
	want := []steps.Event{{Kind: "token", Text: "Hel"}, {Kind: "token", Text: "lo"}}
	if diff := cmp.Diff(want, env.Events()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
