// Package chat builds what the chat-model steps (generate, agent) send: the opening
// messages of a conversation from the step's prompt, the max_tokens param they size
// requests by, and the callback that streams tokens to the run as events.
package chat

import (
	"errors"
	"fmt"
	"math"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

// Chat formats wrap every message in a few tokens of markup and prime the reply with a
// few more (OpenAI documents 3 and 3; other templates are close). Token estimates add
// these to the content's tokens.
const (
	TokensPerMessage = 4
	TokensPerReply   = 3
)

// ErrNoTask is Messages' error for a prompt of system messages only; each step says it
// in its own words.
var ErrNoTask = errors.New("the prompt has only system messages")

var roles = map[string]bool{"system": true, "user": true, "assistant": true, "tool": true}

// Messages orders p as system, then the chat messages, then user. Every message role
// must be system, user, assistant or tool, and at least one message must be other than
// system (else ErrNoTask). p must not be nil.
func Messages(p *steps.Prompt) ([]providers.Message, error) {
	var out []providers.Message
	if p.System != "" {
		out = append(out, providers.Message{Role: "system", Content: p.System})
	}
	for i, m := range p.Messages {
		if !roles[m.Role] {
			return nil, fmt.Errorf("prompt.messages[%d]: unknown role %q (allowed: system, user, assistant, tool)", i, m.Role)
		}
		out = append(out, m)
	}
	if p.User != "" {
		out = append(out, providers.Message{Role: "user", Content: p.User})
	}
	for _, m := range out {
		if m.Role != "system" {
			return out, nil
		}
	}
	return nil, ErrNoTask
}

// MaxTokens reads params.max_tokens: 0 when absent, not a number or not positive.
func MaxTokens(params map[string]any) int {
	switch v := params["max_tokens"].(type) {
	case int:
		return max(v, 0)
	case float64:
		if v > 0 && v < math.MaxInt32 {
			return int(v)
		}
	}
	return 0
}

// Streamer returns the Stream callback of a request: each non-empty text delta becomes
// a "token" event on env. A nil env gives nil, so the provider does not stream.
func Streamer(env steps.Env) func(string) {
	if env == nil {
		return nil
	}
	return func(delta string) {
		if delta != "" {
			env.Emit(steps.Event{Kind: "token", Text: delta})
		}
	}
}
