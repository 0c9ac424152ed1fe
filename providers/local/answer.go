package local

import (
	"math"
	"slices"
	"strings"

	qframe "github.com/aiflow/aiflow/internal/question"
)

// Query-focused extraction: the extractive answer to a Focus question.
//
// The text (typically the chunks a search returned, joined by blank lines) is cut into
// paragraphs and sentences. The question is reduced to its focus terms: its non-stop
// words minus question-frame words ("how does X work", "what does X mean"), each reduced
// by a light suffix-stripping stemmer so that "migrate", "migrating" and "migration" meet.
//
//   - Coverage. A paragraph covers the question to the extent it holds its focus terms:
//     the share of focus terms found in it. When no paragraph covers at least
//     minCoverage of them, the text does not answer the question and the answer is
//     exactly Abstention. A paragraph covering less than that contributes no sentences:
//     an answer comes from relevant paragraphs only.
//   - Relevance. Each sentence of a covering paragraph is scored by BM25 (k1 1.2, b 0.75,
//     sentences as the documents, over stems) and by the cosine between the lexical
//     hash embeddings (embed.go) of the question and the sentence; both are divided by
//     their maximum over the text and mixed with weight bm25Weight, then scaled by the
//     paragraph's coverage. A sentence that follows a relevant sentence in the same
//     paragraph inherits followShare of its relevance (the reason or detail after a
//     matching sentence often carries no query word: "Many songbirds migrate at night. The
//     air is cooler…").
//   - Selection. Sentences scoring at least minRelevance of the best are picked by maximal
//     marginal relevance (Carbonell and Goldstein): each step takes the sentence maximising
//     mmrLambda·relevance − (1−mmrLambda)·(its highest TF-IDF cosine to a sentence already
//     taken), until the budget is met. The picked sentences are returned verbatim in text
//     order.

// Abstention is the whole answer when the text does not answer the Focus question.
const Abstention = "The documents do not answer this."

// Tuned on the "tune" half of bench/testdata/answers.json (go run ./bench answers).
// minRelevance sits just above followShare, so a sentence never joins the best one on
// inherited relevance alone; among such cuts 0.61 has the best F1 of precision and recall
// on the tune half (0.7: precision 0.674, recall 0.508; 0.61: 0.667, 0.525). 0.7 also cut
// "The max-age directive says…" (0.69 of the best) from "what does max-age … mean".
const (
	minCoverage  = 0.6
	bm25Weight   = 0.3
	followShare  = 0.6
	minRelevance = 0.61
	mmrLambda    = 0.7
	answerK1     = 1.2
	answerB      = 0.75
)

// stem strips one common English suffix, keeping at least four letters: a light stemmer
// in the spirit of Porter's first step, enough to meet plural, tense and -ion forms.
func stem(w string) string {
	for _, suf := range []string{"ings", "ing", "ions", "ion", "ers", "er", "ies", "ied", "ed", "es", "ly", "s", "e", "y"} {
		if strings.HasSuffix(w, suf) && len(w)-len(suf) >= 4 {
			return w[:len(w)-len(suf)]
		}
	}
	return w
}

// stems returns the stems of s's non-stop words, in order.
func stems(s string) []string {
	var out []string
	for _, w := range words(s) {
		if !isStopWord(w) {
			out = append(out, stem(w))
		}
	}
	return out
}

// focusTerms returns the distinct stems of the question's focus words.
func focusTerms(question string) []string {
	var out []string
	for _, w := range words(question) {
		if isStopWord(w) || qframe.IsFrameWord(w) {
			continue
		}
		if s := stem(w); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// answerSentence is a sentence with its paragraph.
type answerSentence struct {
	text  string
	block int
}

// focusedAnswer answers question from text within budget b, or returns Abstention.
// ok is false when the question has no focus terms (the caller then summarises).
func focusedAnswer(text, question string, b budget) (answer string, ok bool) {
	q := focusTerms(question)
	if len(q) == 0 {
		return "", false
	}
	var sents []answerSentence
	for i, blk := range blocks(text) {
		for _, s := range appendSentences(nil, blk) {
			sents = append(sents, answerSentence{s, i})
		}
	}
	if len(sents) == 0 {
		return Abstention, true
	}
	rel := relevance(sents, q, question)
	best := slices.Max(rel)
	if best <= 0 {
		return Abstention, true
	}
	plain := make([]string, len(sents))
	for i, s := range sents {
		plain[i] = s.text
	}
	vecs, _ := tfidfVectors(plain)
	chosen := mmr(plain, vecs, rel, best*minRelevance, b)
	if len(chosen) == 0 {
		return truncateWords(plain[slices.Index(rel, best)], b.words), true
	}
	slices.Sort(chosen)
	parts := make([]string, len(chosen))
	for i, c := range chosen {
		parts[i] = plain[c]
	}
	return strings.Join(parts, " "), true
}

// relevance scores every sentence for the focus terms q of question; sentences of
// paragraphs covering less than minCoverage of q score 0.
func relevance(sents []answerSentence, q []string, question string) []float64 {
	n := len(sents)
	terms := make([][]string, n)
	blockTerms := map[int]map[string]bool{}
	total := 0
	for i, s := range sents {
		terms[i] = stems(s.text)
		total += len(terms[i])
		if blockTerms[s.block] == nil {
			blockTerms[s.block] = map[string]bool{}
		}
		for _, t := range terms[i] {
			blockTerms[s.block][t] = true
		}
	}
	coverage := func(block int) float64 {
		c := 0
		for _, t := range q {
			if blockTerms[block][t] {
				c++
			}
		}
		return float64(c) / float64(len(q))
	}
	bm := sentenceBM25(terms, q, float64(total)/float64(n))
	e := hashEmbedder{dims: defaultDimensions}
	qv := e.embed(question)
	cos := make([]float64, n)
	for i, s := range sents {
		cos[i] = max(0, cosine(qv, e.embed(s.text)))
	}
	bmMax, cosMax := slices.Max(bm), slices.Max(cos)
	rel := make([]float64, n)
	for i, s := range sents {
		cov := coverage(s.block)
		if cov < minCoverage {
			continue
		}
		var r float64
		if bmMax > 0 {
			r += bm25Weight * bm[i] / bmMax
		}
		if cosMax > 0 {
			r += (1 - bm25Weight) * cos[i] / cosMax
		}
		rel[i] = r * cov
	}
	for i := 1; i < n; i++ {
		if sents[i].block == sents[i-1].block {
			rel[i] = max(rel[i], followShare*rel[i-1])
		}
	}
	return rel
}

// sentenceBM25 scores each sentence (its stems) for the query stems q.
func sentenceBM25(terms [][]string, q []string, avg float64) []float64 {
	n := float64(len(terms))
	out := make([]float64, len(terms))
	for _, t := range q {
		df := 0.0
		for _, ts := range terms {
			if slices.Contains(ts, t) {
				df++
			}
		}
		if df == 0 {
			continue
		}
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		for i, ts := range terms {
			tf := 0.0
			for _, x := range ts {
				if x == t {
					tf++
				}
			}
			if tf > 0 {
				out[i] += idf * tf * (answerK1 + 1) / (tf + answerK1*(1-answerB+answerB*float64(len(ts))/avg))
			}
		}
	}
	return out
}

// mmr picks sentences scoring at least floor by maximal marginal relevance within b.
func mmr(sents []string, vecs []sparseVec, rel []float64, floor float64, b budget) []int {
	var chosen []int
	words := 0
	taken := make([]bool, len(sents))
	for b.sentences == 0 || len(chosen) < b.sentences {
		pick, pickScore := -1, math.Inf(-1)
		for i := range sents {
			if taken[i] || rel[i] < floor || rel[i] <= 0 {
				continue
			}
			if b.sentences == 0 && words+wordCount(sents[i]) > b.words {
				continue
			}
			sim := 0.0
			for _, c := range chosen {
				sim = max(sim, vecs[i].dot(vecs[c]))
			}
			if s := mmrLambda*rel[i] - (1-mmrLambda)*sim; s > pickScore {
				pick, pickScore = i, s
			}
		}
		if pick < 0 {
			break
		}
		taken[pick] = true
		chosen = append(chosen, pick)
		words += wordCount(sents[pick])
	}
	return chosen
}
