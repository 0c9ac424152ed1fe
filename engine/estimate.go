package engine

import (
	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/tokens"
)

// defaultOutputTokens is the output estimate of a generation without max_tokens: the
// default the hosted providers' clients send.
const defaultOutputTokens = 1024

// Estimate is a call's expected size and price, before it is made.
type Estimate struct {
	InputTokens   int     `json:"input_tokens"`
	OutputTokens  int     `json:"output_tokens"`
	USD           float64 `json:"usd"`
	Priced        bool    `json:"priced"`                   // the catalogue knows the model's price
	ContextWindow int     `json:"context_window,omitempty"` // 0 when unknown
	// largestText is, for a call with a list of texts (a batched embed), the tokens of
	// its longest text: each text meets the context window on its own, not their sum.
	largestText int
}

// add sums two estimates; the result is priced only if both are.
func (e Estimate) add(o Estimate) Estimate {
	return Estimate{InputTokens: e.InputTokens + o.InputTokens, OutputTokens: e.OutputTokens + o.OutputTokens,
		USD: e.USD + o.USD, Priced: e.Priced && o.Priced, ContextWindow: max(e.ContextWindow, o.ContextWindow)}
}

// estimateCall counts a call's input tokens (cl100k_base; approximate for non-OpenAI
// models), guesses its output tokens from max_tokens or the task, and prices both from the
// model catalogue.
func estimateCall(task providers.Task, call *steps.Call) Estimate {
	var e Estimate
	if p := call.Prompt; p != nil {
		e.InputTokens += tokens.Count(p.System) + tokens.Count(p.User)
		for _, m := range p.Messages {
			e.InputTokens += tokens.Count(m.Content)
		}
	}
	if s, ok := call.Inputs["text"].(string); ok {
		e.InputTokens += tokens.Count(s)
	}
	var texts []string
	switch l := call.Inputs["texts"].(type) {
	case []string:
		texts = l
	case []any:
		for _, v := range l {
			if s, ok := v.(string); ok {
				texts = append(texts, s)
			}
		}
	}
	for _, s := range texts {
		n := tokens.Count(s)
		e.InputTokens += n
		e.largestText = max(e.largestText, n)
	}
	switch task {
	case providers.TaskGenerate:
		e.OutputTokens = defaultOutputTokens
		for _, k := range []string{"max_tokens", "max_completion_tokens"} {
			if n, ok := asInt(call.Params[k]); ok {
				e.OutputTokens = n
			}
		}
	case providers.TaskTranslate:
		e.OutputTokens = e.InputTokens
	case providers.TaskSummarize:
		e.OutputTokens = min(e.InputTokens, 256)
		if n, ok := asInt(call.Inputs["max_length"]); ok && n > 20 {
			e.OutputTokens = n
		}
	}
	if call.Model == nil {
		e.Priced = true
		return e
	}
	if call.Model.ProviderKind == "local" {
		e.Priced = true // the embedded engine is free
		return e
	}
	m, ok := catalog.Lookup(call.Model.ProviderKind, call.Model.ID)
	if !ok {
		return e
	}
	e.ContextWindow = m.ContextWindow
	if task == providers.TaskTranscribe {
		if b, ok := blob.FromValue(call.Inputs["audio"]); ok {
			e.USD, _, e.Priced = m.AudioCost(providers.EstimateAudioSeconds(b.MediaType, b.Size))
		}
		return e
	}
	if m.Unpriced {
		return e
	}
	if task == providers.TaskImage {
		if !m.ImagePriced() {
			return e
		}
		steps, _ := asInt(call.Inputs["steps"])
		w, _ := asInt(call.Inputs["width"])
		h, _ := asInt(call.Inputs["height"])
		e.USD, _ = m.ImageCost(steps, w, h)
		e.Priced = true
		return e
	}
	if !m.TokenPriced() {
		return e
	}
	e.USD, _ = m.Cost(e.InputTokens, e.OutputTokens)
	e.Priced = true
	return e
}

func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case float64:
		return int(x), x == float64(int(x))
	}
	return 0, false
}
