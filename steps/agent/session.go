package agent

import (
	"errors"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/chat"
)

// limits are the step's with: limits, checked.
type limits struct {
	maxTurns    int
	maxTokens   int
	budget      float64
	parallel    bool
	toolRetries int
	onLimit     string
}

func readLimits(in map[string]any) (limits, error) {
	l := limits{maxTurns: DefaultMaxTurns, toolRetries: DefaultToolRetries, parallel: true, onLimit: OnLimitFail}
	if v, ok := in["max_turns"].(int); ok {
		l.maxTurns = v
	}
	if v, ok := in["max_tokens"].(int); ok {
		l.maxTokens = v
	}
	if v, ok := in["budget_usd"].(float64); ok {
		l.budget = v
	}
	if v, ok := in["parallel_tools"].(bool); ok {
		l.parallel = v
	}
	if v, ok := in["tool_retries"].(int); ok {
		l.toolRetries = v
	}
	if v, ok := in["on_limit"].(string); ok && v != "" {
		l.onLimit = v
	}
	switch {
	case l.maxTurns < 1:
		return l, fmt.Errorf("max_turns must be at least 1, got %d", l.maxTurns)
	case l.maxTokens < 0 || l.budget < 0 || l.toolRetries < 0:
		return l, errors.New("max_tokens, budget_usd and tool_retries must not be negative")
	case l.onLimit != OnLimitFail && l.onLimit != OnLimitReturn:
		return l, fmt.Errorf("on_limit %q is not fail or return", l.onLimit)
	}
	return l, nil
}

// session is one run of an agent step: the conversation so far and what it has cost.
// Only run's goroutine touches it; tool calls of one turn run concurrently but write only
// their own result slot.
type session struct {
	call   *steps.Call
	gen    providers.Generator
	model  *steps.Model
	tools  *toolset
	lim    limits
	schema *jsonschema.Schema // output.schema, compiled

	msgs     []providers.Message
	usage    providers.Usage // model calls only: step tools report theirs to the run
	spentUSD float64         // model calls and step tools
	turns    int             // model calls made
	recorded int             // next turn index in the run store
	calls    []any           // output.tool_calls
	badArgs  int             // calls returned to the model for bad arguments
	repairs  int
	lastText string
	meta     providers.Meta
}

func newSession(call *steps.Call, gen providers.Generator) (*session, error) {
	lim, err := readLimits(call.Inputs)
	if err != nil {
		return nil, err
	}
	msgs, err := messages(call.Prompt)
	if err != nil {
		return nil, err
	}
	s := &session{call: call, gen: gen, model: call.Model, lim: lim, msgs: msgs, calls: []any{}, meta: providers.Meta{}}
	if call.OutputSchema != nil {
		if s.schema, err = compileSchema("output.schema", call.OutputSchema); err != nil {
			return nil, fmt.Errorf("output.schema is not a valid JSON Schema: %w", err)
		}
	}
	return s, nil
}

// messages orders a prompt as system, then the chat messages, then user (chat.Messages).
func messages(p *steps.Prompt) ([]providers.Message, error) {
	if p == nil {
		return nil, errors.New("an agent needs a prompt")
	}
	msgs, err := chat.Messages(p)
	if errors.Is(err, chat.ErrNoTask) {
		return nil, errors.New("the prompt has no task: give prompt.user or prompt.messages")
	}
	return msgs, err
}
