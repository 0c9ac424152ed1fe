package generate

import (
	"errors"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/chat"
)

// messages orders a prompt as system, then the chat messages, then user (chat.Messages).
func messages(p *steps.Prompt) ([]providers.Message, error) {
	if p == nil {
		return nil, errors.New("generate needs a prompt")
	}
	msgs, err := chat.Messages(p)
	if errors.Is(err, chat.ErrNoTask) {
		return nil, errors.New("the prompt has no user content: give prompt.user or prompt.messages")
	}
	return msgs, err
}
