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
	limit := len([]rune(given))/3 + 1
	if limit > 3 {
		limit = 3
	}
	if bestD < 0 || bestD > limit {
		return ""
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
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
