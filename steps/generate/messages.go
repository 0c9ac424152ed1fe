package generate

import (
	"errors"
	"fmt"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

var roles = map[string]bool{"system": true, "user": true, "assistant": true, "tool": true}

// messages orders a prompt as system, then the chat messages, then user.
func messages(p *steps.Prompt) ([]providers.Message, error) {
	if p == nil {
		return nil, errors.New("generate needs a prompt")
	}
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
	return nil, errors.New("the prompt has no user content: give prompt.user or prompt.messages")
}
