package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/chat"
)

// LimitError is returned when the loop hits max_turns, max_tokens or budget_usd before
// the model answers (and on_limit is fail). Stopped says which.
type LimitError struct {
	Stopped string // StoppedMaxTurns, StoppedMaxTokens or StoppedBudget
	msg     string
}

// Error says which limit was hit, after how many turns, and how to raise it.
func (e *LimitError) Error() string { return e.msg }

// run is the loop: ask the model, run the tools it calls, send the results back, until
// it answers without tool calls or a limit stops it. A failed run still returns the usage
// of the turns it paid for, which the engine counts.
func (s *session) run(ctx context.Context) (steps.Result, error) {
	res, err := s.loop(ctx)
	if err != nil {
		res.Usage = s.usage
	}
	return res, err
}

func (s *session) loop(ctx context.Context) (steps.Result, error) {
	if err := s.recordPrompt(ctx); err != nil {
		return steps.Result{}, err
	}
	for {
		if why := s.exhausted(); why != "" {
			return s.stop(why, nil)
		}
		resp, err := s.generate(ctx)
		if err != nil {
			return steps.Result{}, err
		}
		if len(resp.ToolCalls) == 0 {
			done, res, err := s.answer(ctx, resp)
			if done || err != nil {
				return res, err
			}
			continue
		}
		if why := s.exhausted(); why != "" {
			return s.stop(why, resp.ToolCalls)
		}
		if err := s.runTools(ctx, resp); err != nil {
			return steps.Result{}, err
		}
	}
}

// generate makes one model call and records it.
func (s *session) generate(ctx context.Context) (providers.GenerateResponse, error) {
	req := providers.GenerateRequest{Model: s.model.ID, Messages: s.msgs, Params: s.params(), JSONSchema: s.call.OutputSchema,
		Tools: s.tools.specs, Gateway: s.model.Gateway, Stream: chat.Streamer(s.call.Env)}
	if err := checkWindow(s.model, req); err != nil {
		return providers.GenerateResponse{}, err
	}
	tctx, sp := s.startTurn(ctx, s.turns+1)
	resp, err := s.gen.Generate(tctx, req)
	endTurn(tctx, sp, resp, err)
	if err != nil {
		return resp, fmt.Errorf("generating with %s (turn %d): %w", s.model.Ref(), s.turns+1, err)
	}
	s.turns++
	s.usage = s.usage.Add(resp.Usage)
	s.spentUSD += resp.Usage.USD
	for k, v := range resp.Meta {
		s.meta[k] = v
	}
	if resp.Text != "" {
		s.lastText = resp.Text
	}
	ids := map[string]bool{}
	for i := range resp.ToolCalls {
		if c := &resp.ToolCalls[i]; c.ID == "" || ids[c.ID] {
			c.ID = fmt.Sprintf("call_%d_%d", s.turns, i)
		}
		ids[resp.ToolCalls[i].ID] = true
	}
	return resp, s.record(ctx, steps.Turn{Role: "assistant", Content: answerText(resp), Usage: resp.Usage})
}

// params are the step's params with max_tokens lowered to what with.max_tokens leaves.
func (s *session) params() map[string]any {
	if s.lim.maxTokens == 0 {
		return s.call.Params
	}
	left := s.lim.maxTokens - s.usage.OutputTokens
	out := make(map[string]any, len(s.call.Params)+1)
	for k, v := range s.call.Params {
		out[k] = v
	}
	if cur := chat.MaxTokens(out); cur == 0 || cur > left {
		out["max_tokens"] = left
	}
	return out
}

// answer handles a reply without tool calls: the final answer, unless output.schema
// rejects it and a repair turn is left.
func (s *session) answer(ctx context.Context, resp providers.GenerateResponse) (bool, steps.Result, error) {
	if s.schema == nil {
		return true, s.result(resp.Text, nil, StoppedAnswer), nil
	}
	val, text, err := answerJSON(s.schema, resp.JSON, resp.Text)
	if err == nil {
		return true, s.result(text, val, StoppedAnswer), nil
	}
	if s.repairs == MaxRepairs {
		return true, steps.Result{}, fmt.Errorf("model %s answered %d times without JSON matching output.schema; last problem: %w", s.model.Ref(), s.repairs+1, err)
	}
	s.repairs++
	repair := providers.Message{Role: "user", Content: repairPrompt(err)}
	s.msgs = append(s.msgs, providers.Message{Role: "assistant", Content: answerText(resp)}, repair)
	return false, steps.Result{}, s.record(ctx, steps.Turn{Role: "user", Content: repair.Content})
}

// answerText is the reply's text, or its parsed JSON when the provider gave only that.
func answerText(resp providers.GenerateResponse) string {
	if resp.Text != "" || resp.JSON == nil {
		return resp.Text
	}
	return resultText(resp.JSON)
}

// exhausted names the limit that forbids another model call, or "".
func (s *session) exhausted() string {
	switch {
	case s.turns >= s.lim.maxTurns:
		return StoppedMaxTurns
	case s.lim.maxTokens > 0 && s.usage.OutputTokens >= s.lim.maxTokens:
		return StoppedMaxTokens
	case s.lim.budget > 0 && s.spentUSD >= s.lim.budget:
		return StoppedBudget
	}
	return ""
}

// stop ends the loop at a limit: the last text with on_limit: return, else a
// LimitError. pending are tool calls the model asked for that were not run.
func (s *session) stop(why string, pending []providers.ToolCall) (steps.Result, error) {
	if s.lim.onLimit == OnLimitReturn {
		return s.result(s.lastText, nil, why), nil
	}
	var limit string
	switch why {
	case StoppedMaxTurns:
		limit = fmt.Sprintf("max_turns is %d", s.lim.maxTurns)
	case StoppedMaxTokens:
		limit = fmt.Sprintf("%d output tokens used of max_tokens %d", s.usage.OutputTokens, s.lim.maxTokens)
	default:
		limit = fmt.Sprintf("$%.4f spent of budget_usd $%.4f", s.spentUSD, s.lim.budget)
	}
	msg := fmt.Sprintf("agent stopped without a final answer after %d turns (%s)", s.turns, limit)
	if len(pending) > 0 {
		names := make([]string, len(pending))
		for i, c := range pending {
			names[i] = c.Name
		}
		msg += "; it was still calling " + strings.Join(names, ", ")
	}
	msg += "; raise the limit under with:, or set with: {on_limit: return} to get the partial answer"
	return steps.Result{}, &LimitError{Stopped: why, msg: msg}
}

// result builds the step's output.
func (s *session) result(text string, val any, stopped string) steps.Result {
	out := map[string]any{
		"text":       text,
		"json":       val,
		"turns":      s.turns,
		"tool_calls": s.calls,
		"usage":      map[string]any{"input_tokens": s.usage.InputTokens, "output_tokens": s.usage.OutputTokens, "usd": s.usage.USD},
		"stopped":    stopped,
		"model":      s.model.Ref(),
	}
	meta := s.meta
	if len(meta) == 0 {
		meta = nil
	}
	return steps.Result{Output: out, Usage: s.usage, Meta: meta, ModelRef: s.model.Ref()}
}
