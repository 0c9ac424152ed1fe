package agent

import (
	"context"
	"fmt"

	"github.com/aiflow/aiflow/steps"
)

// recordPrompt records the conversation's opening turns (system prompt and task).
func (s *session) recordPrompt(ctx context.Context) error {
	for _, m := range s.msgs {
		if err := s.record(ctx, steps.Turn{Role: m.Role, Content: m.Content, ToolName: m.Name, ToolCallID: m.ToolCallID}); err != nil {
			return err
		}
	}
	return nil
}

// record appends one turn to the run store, numbering turns from 0.
func (s *session) record(ctx context.Context, t steps.Turn) error {
	if s.call.Env == nil {
		return nil
	}
	t.Index = s.recorded
	if err := s.call.Env.RecordTurn(ctx, t); err != nil {
		return fmt.Errorf("recording agent turn %d: %w", t.Index, err)
	}
	s.recorded++
	return nil
}
