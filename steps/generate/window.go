package generate

import (
	"fmt"
	"unicode/utf8"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/chat"
	"github.com/aiflow/aiflow/tokens"
)

// estimate is the prompt's size in tokens (cl100k_base, so approximate for non-OpenAI
// models), and each message's content tokens.
func estimate(msgs []providers.Message) (int, []int) {
	n := chat.TokensPerReply
	counts := make([]int, len(msgs))
	for i, m := range msgs {
		counts[i] = tokens.Count(m.Content)
		n += chat.TokensPerMessage + counts[i]
	}
	return n, counts
}

// fitWindow checks the prompt plus max_tokens against the model's context window, and with
// truncate cuts the longest user message to fit. Models without a known window pass.
func fitWindow(m *steps.Model, msgs []providers.Message, params map[string]any, truncate bool) ([]providers.Message, error) {
	info, ok := catalog.Lookup(m.ProviderKind, m.ID)
	if !ok || info.ContextWindow == 0 {
		return msgs, nil
	}
	window, reserve := info.ContextWindow, chat.MaxTokens(params)
	need, counts := estimate(msgs)
	if need+reserve <= window {
		return msgs, nil
	}
	if !truncate {
		return nil, fmt.Errorf("the prompt is about %d tokens%s but model %s has a context window of %d tokens: shorten the input, pick a model with a larger window, or set with: {truncate: true}",
			need, reserved(reserve), m.Ref(), window)
	}
	i := longestUser(msgs)
	excess := need + reserve - window
	keep := counts[i] - excess
	if keep <= 0 {
		return nil, fmt.Errorf("the prompt is about %d tokens%s but model %s has a context window of %d tokens, and cutting the longest user message cannot make it fit",
			need, reserved(reserve), m.Ref(), window)
	}
	out := append([]providers.Message(nil), msgs...)
	out[i].Content = firstTokens(out[i].Content, keep)
	return out, nil
}

func reserved(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" plus %d for max_tokens", n)
}

func longestUser(msgs []providers.Message) int {
	best, bestLen := -1, -1
	for i, m := range msgs {
		if m.Role == "user" && len(m.Content) > bestLen {
			best, bestLen = i, len(m.Content)
		}
	}
	return best
}

// firstTokens returns the prefix of s made of its first n tokens, backed up to a UTF-8
// character boundary.
func firstTokens(s string, n int) string {
	spans := tokens.Spans(s)
	if n >= len(spans) {
		return s
	}
	end := spans[n-1].End
	for end > 0 && end < len(s) && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end]
}
