package bm25

import (
	"strings"
	"unicode"
)

// Tokenize splits s into lowercase words: maximal runs of letters, digits and combining
// marks. Everything else separates words.
func Tokenize(s string) []string {
	var toks []string
	start := -1
	for i, r := range s {
		word := unicode.IsLetter(r) || unicode.IsNumber(r) || start >= 0 && unicode.Is(unicode.Mn, r)
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			toks = append(toks, strings.ToLower(s[start:i]))
			start = -1
		}
	}
	if start >= 0 {
		toks = append(toks, strings.ToLower(s[start:]))
	}
	return toks
}
