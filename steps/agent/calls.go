package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/jsonout"
)

// outcome is what one tool call gave.
type outcome struct {
	content string
	failed  bool // the tool ran and failed, or was not run
	badArgs bool // the model's mistake: unknown tool, arguments not an object or off-schema
	args    any  // the arguments as parsed, for output.tool_calls
	usage   providers.Usage
}

// runTools runs the calls of one reply (concurrently when allowed), appends the reply
// and the results to the conversation in call order, and records them.
func (s *session) runTools(ctx context.Context, resp providers.GenerateResponse) error {
	calls := resp.ToolCalls
	for _, c := range calls {
		if err := s.record(ctx, steps.Turn{Role: "assistant", ToolName: c.Name, ToolCallID: c.ID, Arguments: rawArgs(c.Arguments)}); err != nil {
			return err
		}
	}
	outs := s.execAll(ctx, calls)
	if err := ctx.Err(); err != nil {
		return err
	}
	s.msgs = append(s.msgs, providers.Message{Role: "assistant", Content: resp.Text, ToolCalls: calls})
	var lastBad string
	for i, c := range calls {
		o := outs[i]
		s.msgs = append(s.msgs, providers.Message{Role: "tool", ToolCallID: c.ID, Name: c.Name, Content: o.content, IsError: o.failed})
		s.calls = append(s.calls, map[string]any{"name": c.Name, "arguments": o.args, "ok": !o.failed})
		s.spentUSD += o.usage.USD
		if o.badArgs {
			s.badArgs++
			lastBad = c.Name + ": " + o.content
		}
		content := o.content
		if o.failed {
			content = "error: " + content
		}
		if err := s.record(ctx, steps.Turn{Role: "tool", ToolName: c.Name, ToolCallID: c.ID, Content: content, Usage: o.usage}); err != nil {
			return err
		}
	}
	if s.badArgs > s.lim.toolRetries {
		return fmt.Errorf("model %s called tools with invalid arguments %d times (tool_retries is %d); last problem: %s",
			s.model.Ref(), s.badArgs, s.lim.toolRetries, lastBad)
	}
	return nil
}

// execAll runs calls, at most MaxParallelTools at once unless parallel_tools is off.
func (s *session) execAll(ctx context.Context, calls []providers.ToolCall) []outcome {
	outs := make([]outcome, len(calls))
	if !s.lim.parallel || len(calls) == 1 {
		for i, c := range calls {
			outs[i] = s.exec(ctx, c)
		}
		return outs
	}
	sem := make(chan struct{}, MaxParallelTools)
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			outs[i] = s.exec(ctx, c)
		}()
	}
	wg.Wait()
	return outs
}

// exec checks one call's tool and arguments, then runs it, in a span of its own when
// the run is traced. Problems become the tool's answer, so the model can correct itself.
func (s *session) exec(ctx context.Context, c providers.ToolCall) outcome {
	ctx, sp := startTool(ctx, c)
	o := s.execTool(ctx, c)
	endTool(ctx, sp, o)
	return o
}

func (s *session) execTool(ctx context.Context, c providers.ToolCall) outcome {
	args, err := parseArgs(c.Arguments)
	if err != nil {
		return outcome{content: err.Error() + "; call the tool again with a JSON object of arguments", failed: true, badArgs: true, args: string(c.Arguments)}
	}
	t, ok := s.tools.byName[c.Name]
	if !ok {
		return outcome{content: fmt.Sprintf("there is no tool %q; the tools are %s", c.Name, strings.Join(s.tools.names(), ", ")),
			failed: true, badArgs: true, args: args}
	}
	if err := jsonout.Validate(t.schema, args); err != nil {
		return outcome{content: "the arguments do not match the tool's parameters schema: " + err.Error() + "; call the tool again with valid arguments",
			failed: true, badArgs: true, args: args}
	}
	out, err := runSafely(ctx, t, args)
	if err != nil {
		return outcome{content: shorten(err.Error(), 2000), failed: true, args: args, usage: out.usage}
	}
	return outcome{content: out.text, args: args, usage: out.usage}
}

// runSafely runs a tool, turning a panic in it into an error.
func runSafely(ctx context.Context, t *liveTool, args map[string]any) (out toolOut, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tool %s panicked: %v", t.spec.Name, r)
		}
	}()
	return t.run(ctx, args)
}

// parseArgs decodes a call's arguments, which must be a JSON object ("" counts as {}).
func parseArgs(b []byte) (map[string]any, error) {
	if len(strings.TrimSpace(string(b))) == 0 {
		return map[string]any{}, nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("the arguments are not JSON: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("the arguments are not a JSON object")
	}
	return m, nil
}

// rawArgs is a call's arguments as valid JSON for the run store: as sent when they are
// JSON, else as a JSON string.
func rawArgs(b []byte) json.RawMessage {
	if len(strings.TrimSpace(string(b))) == 0 {
		return json.RawMessage("{}")
	}
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	q, _ := json.Marshal(string(b))
	return q
}
