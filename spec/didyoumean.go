package spec

import "strings"

// Suggest returns the candidate closest to given when it is close enough to be a likely
// typo, or "". Distance is Levenshtein over lowercased runes.
func Suggest(given string, candidates []string) string {
	best, bestD := "", -1
	g := strings.ToLower(given)
	for _, c := range candidates {
		d := levenshtein(g, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	// Allow about one edit per three characters: "chunck" → "chunk", but no guess for a
	// one-letter name.
	limit := min((len([]rune(given))+1)/3, 3)
	if bestD < 0 || bestD > limit {
		return ""
	}
	return best
}

// levenshtein is the optimal-string-alignment distance: insertions, deletions,
// substitutions and swaps of neighbouring runes ("wiht" → "with") each cost one.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// didYouMean renders a suggestion sentence, or "" when there is none.
func didYouMean(given string, candidates []string) string {
	if s := Suggest(given, candidates); s != "" {
		return ` (did you mean "` + s + `"?)`
	}
	return ""
}

// quoteList renders names as "a", "b" or "c".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = `"` + n + `"`
	}
	switch len(q) {
	case 0:
		return "nothing"
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// QuoteList renders names as "a", "b" or "c" for messages outside this package.
func QuoteList(names []string) string { return quoteList(names) }

// DidYouMean renders ` (did you mean "x"?)` or "".
func DidYouMean(given string, candidates []string) string { return didYouMean(given, candidates) }
