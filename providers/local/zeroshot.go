package local

import (
	"fmt"
	"math"
	"strings"

	"github.com/aiflow/aiflow/providers"
)

// Zero-shot classification by lexical similarity (local/zero-shot).
//
// The text and every label are embedded with the lexical hash embedder (embed.go). A label
// is either a name ("billing") or "name: description" ("billing: invoices, payments and
// refunds"); the description, when given, is what gets embedded, and the name is what comes
// back. Scores are a softmax over the cosine similarities divided by zeroShotTemperature, best
// first, ties in label order. Lexical similarity means the label wins by sharing words or word
// pieces with the text: describe labels with the words texts of that class use. A text that
// shares nothing with any label gets equal scores.

const (
	zeroShotTemperature = 0.05
	zeroShotDimensions  = 2048 // fixed, so scores do not depend on the provider's dimensions
)

// label is one parsed zero-shot label.
type label struct{ name, text string }

// parseLabels splits "name: description" labels and rejects empty or repeated names.
func parseLabels(raw []string) ([]label, error) {
	seen := map[string]bool{}
	out := make([]label, 0, len(raw))
	for i, r := range raw {
		name, desc, _ := strings.Cut(r, ":")
		l := label{name: strings.TrimSpace(name), text: strings.TrimSpace(desc)}
		if l.name == "" {
			return nil, fmt.Errorf("label %d (%q) has no name", i+1, r)
		}
		if seen[l.name] {
			return nil, fmt.Errorf("label %q is given twice", l.name)
		}
		seen[l.name] = true
		if l.text == "" {
			l.text = l.name
		}
		out = append(out, l)
	}
	return out, nil
}

// zeroShot scores labels for text, best first.
func zeroShot(text string, labels []label) []providers.LabelScore {
	e := hashEmbedder{dims: zeroShotDimensions}
	tv := e.embed(text)
	sims := make([]float64, len(labels))
	top := math.Inf(-1)
	for i, l := range labels {
		sims[i] = cosine(tv, e.embed(l.text)) / zeroShotTemperature
		top = max(top, sims[i])
	}
	scores := make([]providers.LabelScore, len(labels))
	var sum float64
	for i, l := range labels {
		w := math.Exp(sims[i] - top)
		scores[i] = providers.LabelScore{Label: l.name, Score: w}
		sum += w
	}
	for i := range scores {
		scores[i].Score /= sum
	}
	sortScores(scores)
	return scores
}
