package local

import (
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/aiflow/aiflow/providers"
	"github.com/jonreiter/govader"
)

// Sentiment with VADER (local/vader), through github.com/jonreiter/govader, a port of the
// reference vaderSentiment that reproduces its scores.
//
// VADER returns the proportions pos, neg and neu of the text's sentiment-bearing and neutral
// words (they sum to 1) and a normalised compound score c in [-1, 1]. The labels are scored
// by moving the neutral share toward the side the compound points to, in proportion to |c|:
//
//	POSITIVE = pos + neu·max(c, 0)
//	NEGATIVE = neg + neu·max(−c, 0)
//	NEUTRAL  = neu·(1 − |c|)
//
// The three scores sum to 1 and come best first (ties: NEUTRAL, POSITIVE, NEGATIVE). A text
// with no words at all scores NEUTRAL 1. This is not VADER's usual ±0.05 compound threshold:
// a mildly positive text made mostly of neutral words stays NEUTRAL here. The raw VADER values
// are returned in Meta as vader_compound, vader_pos, vader_neg and vader_neu for callers that
// want that rule instead.

// Sentiment labels of local/vader.
const (
	LabelPositive = "POSITIVE"
	LabelNegative = "NEGATIVE"
	LabelNeutral  = "NEUTRAL"
)

// vader loads the lexicon once; the analyzer is read-only afterwards.
var vader = sync.OnceValue(govader.NewSentimentIntensityAnalyzer)

// sentiment scores text and returns the scores best first and the raw VADER values.
func sentiment(text string) ([]providers.LabelScore, providers.Meta) {
	s := vader().PolarityScores(text)
	meta := providers.Meta{
		"vader_compound": formatScore(s.Compound),
		"vader_pos":      formatScore(s.Positive),
		"vader_neg":      formatScore(s.Negative),
		"vader_neu":      formatScore(s.Neutral),
	}
	return sentimentScores(s), meta
}

func sentimentScores(s govader.Sentiment) []providers.LabelScore {
	c := s.Compound
	scores := []providers.LabelScore{
		{Label: LabelNeutral, Score: s.Neutral * (1 - math.Abs(c))},
		{Label: LabelPositive, Score: s.Positive + s.Neutral*max(c, 0)},
		{Label: LabelNegative, Score: s.Negative + s.Neutral*max(-c, 0)},
	}
	total := scores[0].Score + scores[1].Score + scores[2].Score
	if total == 0 {
		return []providers.LabelScore{{Label: LabelNeutral, Score: 1}, {Label: LabelPositive}, {Label: LabelNegative}}
	}
	for i := range scores {
		scores[i].Score /= total
	}
	sortScores(scores)
	return scores
}

// sortScores orders scores best first, keeping the given order on ties.
func sortScores(scores []providers.LabelScore) {
	slices.SortStableFunc(scores, func(a, b providers.LabelScore) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
}

func formatScore(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }
