package local

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// words splits text into lowercased word tokens: runs of letters, digits and marks.
// Apostrophes inside a word are dropped ("don't" → "dont") and a possessive "'s" is cut.
func words(text string) []string {
	out := make([]string, 0, len(text)/6+1)
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(unicode.ToLower(r))
		case isApostrophe(r) && b.Len() > 0:
			if possessive(text[i:]) {
				i++ // skip the s
				flush()
			}
		default:
			flush()
		}
	}
	flush()
	return out
}

func isApostrophe(r rune) bool { return r == '\'' || r == '’' }

// possessive reports whether rest starts with "s" followed by a non-word rune or the end.
func possessive(rest string) bool {
	if rest == "" || (rest[0] != 's' && rest[0] != 'S') {
		return false
	}
	next, _ := utf8.DecodeRuneInString(rest[1:])
	return len(rest) == 1 || !(unicode.IsLetter(next) || unicode.IsDigit(next))
}

// wordCount approximates a token count by counting whitespace-separated words.
func wordCount(text string) int { return len(strings.Fields(text)) }

// fold is a light English plural folding used by the summariser: "caches" → "cache",
// "cities" → "city", "classes" → "class"; words of four letters or fewer and words ending in
// "ss", "us" or "is" are kept.
func fold(w string) string {
	n := len(w)
	switch {
	case n <= 4:
		return w
	case strings.HasSuffix(w, "ies"):
		return w[:n-3] + "y"
	case strings.HasSuffix(w, "sses"):
		return w[:n-2]
	case strings.HasSuffix(w, "ss") || strings.HasSuffix(w, "us") || strings.HasSuffix(w, "is"):
		return w
	case strings.HasSuffix(w, "s"):
		return w[:n-1]
	}
	return w
}

// isStopWord reports whether w (lowercased) is a common English function word.
func isStopWord(w string) bool {
	_, ok := stopWords[w]
	return ok
}

var stopWords = func() map[string]struct{} {
	list := strings.Fields(`a about above after again against all also am an and any are as at be
	because been before being below between both but by can could did do does doing down during each
	few for from further had has have having he her here hers herself him himself his how i if in into
	is it its itself just me more most my myself no nor not now of off on once only or other our ours
	ourselves out over own same she should so some such than that the their theirs them themselves
	then there these they this those through to too under until up very was we were what when where
	which while who whom why will with would you your yours yourself yourselves s t d ll m re ve dont
	doesnt didnt isnt arent wasnt werent wont cant shall may might must let us many much`)
	m := make(map[string]struct{}, len(list))
	for _, w := range list {
		m[w] = struct{}{}
	}
	return m
}()
