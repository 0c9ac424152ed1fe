package agent

import (
	"encoding/json"
	"fmt"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/chat"
	"github.com/aiflow/aiflow/tokens"
)

// estimate is the request's size in tokens (cl100k_base, so approximate for other
// models): messages, tool calls and tool definitions.
func estimate(req providers.GenerateRequest) int {
	n := chat.TokensPerReply
	for _, m := range req.Messages {
		n += chat.TokensPerMessage + tokens.Count(m.Content)
		for _, c := range m.ToolCalls {
			n += tokens.Count(c.Name) + tokens.Count(string(c.Arguments))
		}
	}
	if len(req.Tools) > 0 {
		b, _ := json.Marshal(req.Tools)
		n += tokens.Count(string(b))
	}
	return n
}

// checkWindow fails before sending a conversation that no longer fits the model's
// context window (plus max_tokens). Models the catalogue does not know pass.
func checkWindow(m *steps.Model, req providers.GenerateRequest) error {
	info, ok := catalog.Lookup(m.ProviderKind, m.ID)
	if !ok || info.ContextWindow == 0 {
		return nil
	}
	need, reserve := estimate(req), chat.MaxTokens(req.Params)
	if need+reserve <= info.ContextWindow {
		return nil
	}
	return fmt.Errorf("the conversation is about %d tokens (plus %d for max_tokens) but model %s has a context window of %d tokens: shorten the prompt, have tools return less (e.g. a smaller top_k), lower max_turns, or pick a model with a larger window",
		need, reserve, m.Ref(), info.ContextWindow)
}
