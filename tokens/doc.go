// Package tokens counts, encodes and locates BPE tokens offline.
//
// It wraps github.com/tiktoken-go/tokenizer, whose vocabularies are compiled
// into the binary as Go source (no download, no cache directory, no network).
// The package-level functions use cl100k_base, the encoding of gpt-4,
// gpt-3.5-turbo and text-embedding-3-*; [Get] returns the other OpenAI
// encodings (o200k_base for gpt-4o, gpt-4.1, o-series and gpt-5; p50k_base,
// p50k_edit and r50k_base for older models). Each encoding is built on first
// use, once, and is then safe for concurrent use.
//
// Counts are exact for OpenAI models that use the chosen encoding: they match
// OpenAI's tiktoken encode_ordinary token for token (testdata/golden.json was
// produced by tiktoken itself). Special tokens such as "<|endoftext|>" are
// encoded as ordinary text. For other families (Llama, Mistral, Claude, Gemini,
// Workers AI models) the count is only an approximation: their vocabularies
// differ, most of all on code and non-Latin scripts, so callers that enforce a
// hard context limit for those models should keep a margin.
//
// The wrapped library's generated pre-tokenizers differ from tiktoken in two
// places: whitespace runs that hold several line breaks separated by spaces
// or tabs (cl100k_base, o200k_base: other counts, and quadratic time on long
// runs) and U+007F DELETE (all encodings: silently dropped). This package
// finds those pre-tokens with tiktoken's own pattern, run by regexp2's
// interpreter, and encodes them itself with the same vocabulary and byte-pair
// merge; the library handles the text in between. See divergence.go.
//
// Under cl100k_base, stretches of plain ASCII (printable characters, tabs and
// line breaks, plus typographic quotes, dashes and ellipses) skip the library: the pattern reduces there to a few byte
// classes, matched by hand, and each pre-token is looked up in a flat table
// and merged without allocating (fast.go), some 20 times faster with the
// same tokens.
//
// Text that is not valid UTF-8 is tokenized as if each invalid byte were
// U+FFFD, as the wrapped library does; [Spans] still reports offsets into the
// original bytes.
package tokens
