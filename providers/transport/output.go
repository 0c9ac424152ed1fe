package transport

import (
	"fmt"

	"github.com/aiflow/aiflow/providers"
)

// BytesPerToken is how many bytes of output one token may stand for when a stream is
// checked against max_tokens. Real tokens average about four bytes; the bound is only a
// sanity check, so it is generous enough for any tokenizer.
const BytesPerToken = 64

// minOutputLimit keeps tiny max_tokens values from cutting legitimate output.
const minOutputLimit = 64 << 10

// UnsetMaxTokens stands in for max_tokens when a request sets none: more output tokens
// than any model produces in one answer.
const UnsetMaxTokens = 128 << 10

// OutputLimit is how many bytes of output (text and tool-call arguments) a streamed
// answer may carry for maxTokens: far more than maxTokens tokens can produce, so a
// stream past it is a server that ignores max_tokens. A request without max_tokens
// (maxTokens <= 0) is bounded as if it had asked for UnsetMaxTokens (8 MiB).
func OutputLimit(maxTokens int) int64 {
	if maxTokens <= 0 {
		maxTokens = UnsetMaxTokens
	}
	return max(int64(maxTokens)*BytesPerToken, minOutputLimit)
}

// OutputOverrun is the final error for a stream whose output passed OutputLimit.
func OutputOverrun(provider, model string, maxTokens int) *providers.Error {
	msg := fmt.Sprintf("stream carried more than %s of output, far beyond max_tokens %d (at %d bytes per token); it was cut",
		sizeText(OutputLimit(maxTokens)), maxTokens, BytesPerToken)
	if maxTokens <= 0 {
		msg = fmt.Sprintf("stream carried more than %s of output, more than any model answers (no max_tokens set, bounded as %d tokens at %d bytes each); it was cut",
			sizeText(OutputLimit(maxTokens)), UnsetMaxTokens, BytesPerToken)
	}
	return &providers.Error{Provider: provider, Model: model, Code: "output_over_max_tokens", Message: msg}
}
