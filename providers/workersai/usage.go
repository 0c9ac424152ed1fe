package workersai

import (
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/catalog"
)

// wireUsage is the `usage` object of Workers AI and OpenAI-shaped answers.
type wireUsage struct {
	PromptTokens        int      `json:"prompt_tokens"`
	CompletionTokens    int      `json:"completion_tokens"`
	Neurons             *float64 `json:"neurons"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

// usageFor converts reported usage; neurons and USD come from the catalogue unless the
// service reported neurons.
func usageFor(model string, u wireUsage) providers.Usage {
	out := providers.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, Requests: 1}
	if u.PromptTokensDetails != nil {
		out.CachedTokens = u.PromptTokensDetails.CachedTokens
	}
	if u.Neurons != nil {
		out.Neurons = *u.Neurons
		out.USD = out.Neurons * catalog.NeuronUSD()
		return out
	}
	if m, ok := catalog.Lookup(Kind, model); ok {
		out.USD, out.Neurons = m.Cost(u.PromptTokens, u.CompletionTokens)
	}
	return out
}

// estimatedUsage prices a call whose answer reports no usage: tokens are estimated at
// four bytes each and meta is marked "usage": "estimated".
func estimatedUsage(model string, meta providers.Meta, inputs []string, outputs ...string) providers.Usage {
	meta["usage"] = "estimated"
	return usageFor(model, wireUsage{PromptTokens: estimateTokens(inputs...), CompletionTokens: estimateTokens(outputs...)})
}

func estimateTokens(texts ...string) int {
	n := 0
	for _, t := range texts {
		n += (len(t) + 3) / 4
	}
	return n
}
