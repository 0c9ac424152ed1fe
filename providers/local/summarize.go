package local

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/aiflow/aiflow/providers"
)

// Extractive summarisation (local/textrank).
//
// The text is split into sentences (see sentences.go). Each sentence becomes a TF-IDF vector
// over its non-stop words (lowercased, plurals folded; tf weighted 1+ln(tf), idf ln(1+N/df)
// over the N sentences). Sentences are nodes of a graph whose edge weights are the cosine
// similarities; PageRank by power iteration (damping 0.85) ranks them, as in TextRank and
// LexRank. Building the graph is quadratic in the number of sentences. With a Focus query
// the random walk teleports to sentences in proportion to their cosine similarity to the
// query and follows edges with probability 0.3 only (biased LexRank), so query-relevant
// sentences that are also central win. A focus that shares no word with the text has no
// effect.
//
// The best-ranked sentences are taken greedily, skipping any whose cosine to an already
// chosen one exceeds redundancyCut (skipped ones are used last if the budget is not yet met),
// and returned verbatim (apart from whitespace and Markdown list markers) in document
// order, joined by single spaces.
//
// MaxLength: 0 means 3 sentences; 1–20 means that many sentences; above 20 it is a word
// budget, and sentences are added best first while they fit. If no sentence fits the word
// budget, the best sentence is cut to MaxLength words and ends with "…".

const (
	defaultSentences   = 3
	maxSentenceBudget  = 20
	damping            = 0.85
	focusedDamping     = 0.3
	focusUniformShare  = 0.1
	redundancyCut      = 0.75
	pageRankIterations = 200
	pageRankTolerance  = 1e-10
)

// Summarize returns an extractive summary of req.Text (local/textrank).
func (p *Provider) Summarize(ctx context.Context, req providers.SummarizeRequest) (providers.SummarizeResponse, error) {
	model, err := checkModel(providers.TaskSummarize, req.Model, ModelTextRank)
	if err != nil {
		return providers.SummarizeResponse{}, err
	}
	if req.MaxLength < 0 {
		return providers.SummarizeResponse{}, badRequest(model, "max_length %d is negative", req.MaxLength)
	}
	if err := ctx.Err(); err != nil {
		return providers.SummarizeResponse{}, fmt.Errorf("local summarize: %w", err)
	}
	if text, ok := focusedAnswer(req.Text, req.Focus, budgetFor(req.MaxLength)); ok {
		return providers.SummarizeResponse{Text: text, Usage: usage(req.Text, text), Meta: providers.Meta{"model": model}}, nil
	}
	sents := splitSentences(req.Text)
	if len(sents) == 0 {
		return providers.SummarizeResponse{}, badRequest(model, "text has no sentences to summarise")
	}
	text := summarize(sents, req.Focus, budgetFor(req.MaxLength))
	return providers.SummarizeResponse{Text: text, Usage: usage(req.Text, text), Meta: providers.Meta{"model": model}}, nil
}

// budget limits a summary by sentences or, when sentences is 0, by words.
type budget struct{ sentences, words int }

func budgetFor(maxLength int) budget {
	switch {
	case maxLength == 0:
		return budget{sentences: defaultSentences}
	case maxLength <= maxSentenceBudget:
		return budget{sentences: maxLength}
	}
	return budget{words: maxLength}
}

// summarize ranks sents and joins the chosen ones in document order.
func summarize(sents []string, focus string, b budget) string {
	vecs, vocab := tfidfVectors(sents)
	scores := rankSentences(vecs, focusTeleport(vecs, vocab, focus, len(sents)))
	chosen := choose(sents, vecs, byScore(scores), b)
	if len(chosen) == 0 {
		return truncateWords(sents[byScore(scores)[0]], b.words)
	}
	slices.Sort(chosen)
	parts := make([]string, len(chosen))
	for i, c := range chosen {
		parts[i] = sents[c]
	}
	return strings.Join(parts, " ")
}

// byScore returns sentence indexes by descending score, earlier sentences first on ties.
func byScore(scores []float64) []int {
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	return order
}

// choose takes sentences best first within the budget, leaving near-duplicates for last.
func choose(sents []string, vecs []sparseVec, order []int, b budget) []int {
	var chosen, redundant []int
	words := 0
	full := func() bool { return b.sentences > 0 && len(chosen) >= b.sentences }
	for _, i := range order {
		if full() {
			break
		}
		if isRedundant(vecs, chosen, i) {
			redundant = append(redundant, i)
			continue
		}
		if n := wordCount(sents[i]); b.sentences == 0 {
			if words+n > b.words {
				continue
			}
			words += n
		}
		chosen = append(chosen, i)
	}
	for _, i := range redundant {
		if full() || b.sentences == 0 {
			break
		}
		chosen = append(chosen, i)
	}
	return chosen
}

func isRedundant(vecs []sparseVec, chosen []int, i int) bool {
	for _, c := range chosen {
		if vecs[c].dot(vecs[i]) > redundancyCut {
			return true
		}
	}
	return false
}

func truncateWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) <= n {
		return s
	}
	return strings.Join(f[:n], " ") + "…"
}

// rankSentences runs PageRank over the cosine-similarity graph of vecs. teleport is the
// restart distribution (nil: uniform, plain TextRank).
func rankSentences(vecs []sparseVec, teleport []float64) []float64 {
	n := len(vecs)
	alpha := focusedDamping
	if teleport == nil {
		alpha = damping
		teleport = make([]float64, n)
		for i := range teleport {
			teleport[i] = 1 / float64(n)
		}
	}
	return pageRank(similarityGraph(vecs), teleport, alpha)
}

// edge is a weighted link to sentence to.
type edge struct {
	to int
	w  float64
}

// similarityGraph links every pair of sentences with a positive cosine (no self-loops).
func similarityGraph(vecs []sparseVec) [][]edge {
	adj := make([][]edge, len(vecs))
	for i := range vecs {
		for j := i + 1; j < len(vecs); j++ {
			if w := vecs[i].dot(vecs[j]); w > 0 {
				adj[i] = append(adj[i], edge{j, w})
				adj[j] = append(adj[j], edge{i, w})
			}
		}
	}
	return adj
}

// pageRank is power iteration of x ← (1-α)·t + α·(Wᵀx + dangling·t), W row-normalised.
func pageRank(adj [][]edge, teleport []float64, alpha float64) []float64 {
	n := len(adj)
	out := make([]float64, n)
	for i, es := range adj {
		for _, e := range es {
			out[i] += e.w
		}
	}
	x := slices.Clone(teleport)
	next := make([]float64, n)
	for range pageRankIterations {
		dangling := 0.0
		clear(next)
		for i, es := range adj {
			if out[i] == 0 {
				dangling += x[i]
				continue
			}
			for _, e := range es {
				next[e.to] += x[i] * e.w / out[i]
			}
		}
		delta := 0.0
		for j := range next {
			next[j] = (1-alpha)*teleport[j] + alpha*(next[j]+dangling*teleport[j])
			delta += math.Abs(next[j] - x[j])
		}
		x, next = next, x
		if delta < pageRankTolerance {
			break
		}
	}
	return x
}

// focusTeleport returns the restart distribution biased toward sentences similar to focus,
// or nil when there is no focus or it shares no word with the text.
func focusTeleport(vecs []sparseVec, vocab map[string]termStat, focus string, n int) []float64 {
	if strings.TrimSpace(focus) == "" {
		return nil
	}
	q := queryVector(focus, vocab)
	rel := make([]float64, n)
	total := 0.0
	for i, v := range vecs {
		rel[i] = q.dot(v)
		total += rel[i]
	}
	if total == 0 {
		return nil
	}
	for i := range rel {
		rel[i] = (1-focusUniformShare)*rel[i]/total + focusUniformShare/float64(n)
	}
	return rel
}
