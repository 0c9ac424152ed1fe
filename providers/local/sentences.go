package local

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentence splitting for the extractive summariser.
//
// Text is first cut into blocks at blank lines and at Markdown list items; Markdown heading
// lines are dropped (they are titles, not sentences). Inside a block a sentence ends at a run
// of '.', '!', '?' or '…' (plus closing quotes and brackets) that is followed by whitespace and
// then by something that is not a lowercase letter. A '.' does not end a sentence after a
// title abbreviation ("Dr.", "Mr.", "St."), after "e.g.", "i.e." and similar Latin
// abbreviations, or after a single-letter initial ("J. Smith"). Decimals ("3.14") and dotted
// names ("example.com") never end a sentence because no whitespace follows the dot.

// noBreakAbbrev are abbreviations after which a '.' never ends a sentence, lowercased and
// without their final dot.
var noBreakAbbrev = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "prof": true, "st": true, "sr": true,
	"jr": true, "mt": true, "vs": true, "fig": true, "figs": true, "vol": true, "pp": true, "gen": true, "col": true, "lt": true, "sgt": true, "capt": true,
	"rev": true, "hon": true, "e.g": true, "i.e": true, "cf": true, "viz": true, "approx": true,
	"ca": true, "jan": true, "feb": true, "mar": true, "apr": true, "jun": true, "jul": true,
	"aug": true, "sep": true, "sept": true, "oct": true, "nov": true, "dec": true,
}

// splitSentences returns the sentences of text, whitespace-collapsed, in order.
func splitSentences(text string) []string {
	var out []string
	for _, block := range blocks(text) {
		out = appendSentences(out, block)
	}
	return out
}

// blocks cuts text at blank lines and list items and drops Markdown headings; each block is
// returned with its lines joined by single spaces.
func blocks(text string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = cur[:0]
		}
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			flush()
		case isHeading(line):
			flush()
		case listItem(line) != line:
			flush()
			cur = append(cur, listItem(line))
		default:
			cur = append(cur, line)
		}
	}
	flush()
	return out
}

func isHeading(line string) bool {
	n := len(line) - len(strings.TrimLeft(line, "#"))
	return n >= 1 && n <= 6 && (len(line) == n || line[n] == ' ')
}

// listItem strips a Markdown bullet ("- ", "* ", "+ ") or number ("3. ", "3) ") marker.
func listItem(line string) string {
	if len(line) > 2 && strings.ContainsRune("-*+", rune(line[0])) && line[1] == ' ' {
		return strings.TrimSpace(line[2:])
	}
	i := 0
	for i < len(line) && i < 4 && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(line) && (line[i] == '.' || line[i] == ')') && line[i+1] == ' ' {
		return strings.TrimSpace(line[i+2:])
	}
	return line
}

// appendSentences splits one block and appends its sentences to dst.
func appendSentences(dst []string, block string) []string {
	start := 0
	for i := 0; i < len(block); {
		r, size := utf8.DecodeRuneInString(block[i:])
		if !isTerminator(r) {
			i += size
			continue
		}
		end := skipClosers(block, i)
		if isBoundary(block, start, i, end) {
			dst = appendTrimmed(dst, block[start:end])
			start = end
		}
		i = end
	}
	return appendTrimmed(dst, block[start:])
}

func appendTrimmed(dst []string, s string) []string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return dst
	}
	return append(dst, s)
}

func isTerminator(r rune) bool { return r == '.' || r == '!' || r == '?' || r == '…' }

// skipClosers returns the offset after the terminator run at i and any closing quotes or
// brackets that follow it.
func skipClosers(s string, i int) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isTerminator(r) && !strings.ContainsRune(`"')]”’»`, r) {
			break
		}
		i += size
	}
	return i
}

// isBoundary decides whether the terminator run s[dot:end] ends the sentence that began at
// start.
func isBoundary(s string, start, dot, end int) bool {
	if end == len(s) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s[end:])
	if !unicode.IsSpace(r) {
		return false // "3.14", "example.com", "?!x"
	}
	next := nextWordRune(s[end:])
	if unicode.IsLower(next) {
		return false // "e.g. the", "approx. five"
	}
	if s[dot] != '.' || end-dot > 1 && s[dot+1] == '.' {
		return true // '!', '?', '…' or an ellipsis
	}
	return !abbreviation(lastWord(s[start:dot]))
}

// nextWordRune returns the first rune after leading whitespace and opening quotes/brackets.
func nextWordRune(s string) rune {
	for _, r := range s {
		if !unicode.IsSpace(r) && !strings.ContainsRune(`"'([“‘«¿¡`, r) {
			return r
		}
	}
	return 0
}

// lastWord returns the text after the last space (or opening bracket/quote) of s.
func lastWord(s string) string {
	i := strings.LastIndexFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(`"'([“‘`, r)
	})
	return s[i+1:]
}

// abbreviation reports whether w, the word before a '.', is one after which a sentence
// does not end: a known abbreviation or a single-letter initial.
func abbreviation(w string) bool {
	if utf8.RuneCountInString(w) == 1 {
		r, _ := utf8.DecodeRuneInString(w)
		return unicode.IsUpper(r)
	}
	return noBreakAbbrev[strings.ToLower(w)]
}

// SplitSentences returns the sentences of text exactly as the extractive summariser sees
// and returns them (whitespace collapsed, Markdown headings and list markers dropped), so
// that evaluation tools can compare a summary with labelled sentences one by one.
func SplitSentences(text string) []string { return splitSentences(text) }
