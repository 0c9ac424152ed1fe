// Package question reduces a natural-language question to the words that say what it is
// about. The offline extractive answer (providers/local) and the search step's question
// mode share it, so retrieval and answering agree on what a question asks.
package question

import (
	"strings"
	"unicode"
)

// frameWords frame a question rather than name its subject: "how does X work", "what does
// X mean", "tell me about X". They are ordinary content words elsewhere, so they are not
// stop words; in a question they match documents about workers, meanings and tellers.
var frameWords = map[string]bool{
	"work": true, "works": true, "happen": true, "happens": true, "mean": true, "means": true,
	"meant": true, "tell": true, "explain": true, "describe": true, "use": true, "used": true,
	"exactly": true, "really": true, "actually": true, "thing": true, "things": true,
	"kind": true, "kinds": true, "type": true, "types": true, "way": true, "ways": true,
	"get": true, "gets": true, "make": true, "makes": true, "good": true, "best": true, "please": true, "know": true,
}

// IsFrameWord reports whether w (a lowercased word) frames a question.
func IsFrameWord(w string) bool { return frameWords[w] }

// Query returns q without its question-frame words, the other words kept verbatim and
// joined by single spaces. When every word frames the question, q is returned unchanged,
// so the query is never emptied.
func Query(q string) string {
	fields := strings.Fields(q)
	kept := fields[:0:0]
	for _, f := range fields {
		w := strings.ToLower(strings.TrimFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }))
		if !frameWords[w] {
			kept = append(kept, f)
		}
	}
	if len(kept) == 0 {
		return q
	}
	return strings.Join(kept, " ")
}
