package tokens

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/dlclark/regexp2/v2"
	"github.com/tiktoken-go/tokenizer/codec"
)

// DefaultEncoding is the encoding used by Count, Encode and Spans.
const DefaultEncoding = "cl100k_base"

// Split patterns of the encodings: tiktoken's own, as the library uses them.
// This package compiles them with regexp2's interpreter, which handles the
// inputs the library's generated matchers get wrong (see divergence.go).
const (
	gpt2Pattern   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	cl100kPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	o200kPattern  = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// Encoder tokenizes text with one BPE encoding. Get one from [Get]; the zero
// value is not usable. An Encoder builds its vocabulary on first use and is
// safe for concurrent use by multiple goroutines.
type Encoder struct {
	name     string
	newCodec func() *codec.Codec
	pattern  string
	// newlineRuns is set for patterns with `\s*[\r\n]+`, whose whitespace
	// runs are split here; o200kRules for o200k_base's pattern, whose letters
	// include \p{M} and whose punctuation absorbs slashes after line breaks.
	newlineRuns bool
	o200kRules  bool
	// fastASCII is set for cl100k_base, whose pattern fast.go implements
	// for plain ASCII.
	fastASCII bool

	codecOnce sync.Once
	codec     *codec.Codec

	interpOnce sync.Once
	interp     *regexp2.Regexp

	ranksOnce sync.Once
	ranks     map[string]int

	tablesOnce sync.Once
	fast       *fastTables
}

// encoders is filled at package initialisation and only read afterwards.
var encoders = map[string]*Encoder{
	"cl100k_base": {name: "cl100k_base", newCodec: codec.NewCl100kBase, pattern: cl100kPattern, newlineRuns: true, fastASCII: true},
	"o200k_base":  {name: "o200k_base", newCodec: codec.NewO200kBase, pattern: o200kPattern, newlineRuns: true, o200kRules: true},
	"p50k_base":   {name: "p50k_base", newCodec: codec.NewP50kBase, pattern: gpt2Pattern},
	"p50k_edit":   {name: "p50k_edit", newCodec: codec.NewP50kEdit, pattern: gpt2Pattern},
	"r50k_base":   {name: "r50k_base", newCodec: codec.NewR50kBase, pattern: gpt2Pattern},
}

// Get returns the encoder for an encoding name such as "cl100k_base" or
// "o200k_base". It is cheap: the vocabulary is built on the encoder's first use.
func Get(encoding string) (*Encoder, error) {
	e, ok := encoders[encoding]
	if !ok {
		return nil, fmt.Errorf("unknown encoding %q (allowed: %s)", encoding, strings.Join(Encodings(), ", "))
	}
	return e, nil
}

// Encodings returns the supported encoding names, sorted.
func Encodings() []string {
	names := make([]string, 0, len(encoders))
	for n := range encoders {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Default returns the encoder for DefaultEncoding.
func Default() *Encoder { return encoders[DefaultEncoding] }

// Count returns the number of cl100k_base tokens in s.
func Count(s string) int { return Default().Count(s) }

// Encode returns the cl100k_base token ids of s.
func Encode(s string) []int { return Default().Encode(s) }

// Spans returns the byte range in s of each cl100k_base token of s.
func Spans(s string) []Span { return Default().Spans(s) }

// CountWith returns the number of tokens in s under the named encoding.
func CountWith(encoding, s string) (int, error) {
	e, err := Get(encoding)
	if err != nil {
		return 0, err
	}
	return e.Count(s), nil
}

// Name returns the encoding's name, e.g. "cl100k_base".
func (e *Encoder) Name() string { return e.name }

// Count returns the number of tokens in s. It equals len(e.Encode(s)).
func (e *Encoder) Count(s string) int {
	if e.fastASCII {
		return e.countASCII(s)
	}
	return e.slowCount(s)
}

// slowCount counts the tokens of s with the library, patched where it
// differs from tiktoken.
func (e *Encoder) slowCount(s string) int {
	n := 0
	e.parts(s, func(start, end int, own bool) {
		part := s[start:end]
		if own {
			e.bytePairEncode(part, func(int, int) { n++ })
			return
		}
		k, err := e.lib().Count(part)
		if err != nil {
			k = len(part) // byte-level fallback, as in tokenize
		}
		n += k
	})
	return n
}

// Encode returns the token ids of s.
func (e *Encoder) Encode(s string) []int {
	var ids []int
	e.tokenize(s, func(id, _, _ int) { ids = append(ids, id) })
	return ids
}

func (e *Encoder) lib() *codec.Codec {
	e.codecOnce.Do(func() { e.codec = e.newCodec() })
	return e.codec
}
