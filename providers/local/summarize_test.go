package local

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/google/go-cmp/cmp"
)

const beesParagraph = `Honeybees live in large colonies that work together as a single unit. ` +
	`A colony has one queen, thousands of female workers and, in summer, a few hundred male drones. ` +
	`The queen lays the eggs, and the workers raise the young, build the comb and gather food for the colony. ` +
	`Workers collect nectar and pollen from flowers, and while doing so they pollinate many crops. ` +
	`Beekeepers move hives between farms so that almond and apple orchards are pollinated in spring. ` +
	`The Varroa mite is the most serious threat to colonies today. ` +
	`Mites feed on bees and spread viruses through the colony. ` +
	`Without treatment, a colony with many mites usually dies within two years.`

const (
	sColony   = "A colony has one queen, thousands of female workers and, in summer, a few hundred male drones."
	sVarroa   = "The Varroa mite is the most serious threat to colonies today."
	sViruses  = "Mites feed on bees and spread viruses through the colony."
	sOrchards = "Beekeepers move hives between farms so that almond and apple orchards are pollinated in spring."
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		req  providers.SummarizeRequest
		want string
	}{
		{"default three sentences", providers.SummarizeRequest{Text: beesParagraph},
			strings.Join([]string{sColony, sVarroa, sViruses}, " ")},
		{"two sentences", providers.SummarizeRequest{Text: beesParagraph, MaxLength: 2},
			sColony + " " + sVarroa},
		// A focus is a question: only sentences that answer it, or the abstention.
		{"focus on disease", providers.SummarizeRequest{Text: beesParagraph, MaxLength: 2, Focus: "mites and viruses"},
			sViruses},
		{"focus on pollination", providers.SummarizeRequest{Text: beesParagraph, MaxLength: 2, Focus: "pollination of orchards"},
			sOrchards},
		{"focus sharing no word is not answered", providers.SummarizeRequest{Text: beesParagraph, MaxLength: 2, Focus: "quantum chromodynamics"},
			Abstention},
		{"focus of question words only falls back to the focused summary", providers.SummarizeRequest{Text: beesParagraph, MaxLength: 2, Focus: "How does it work?"},
			"Honeybees live in large colonies that work together as a single unit. " + sVarroa},
		{"word budget", providers.SummarizeRequest{Text: beesParagraph, MaxLength: 30},
			sColony + " " + sVarroa},
		{"near-duplicate of a chosen sentence is skipped", providers.SummarizeRequest{MaxLength: 2, Text: "Solar panels convert sunlight into electricity for homes. " +
			"Solar panels convert sunlight into electricity for homes and offices. " +
			"Batteries store solar electricity for the evening. " +
			"Inverters turn the panels' direct current into alternating current for homes. Wind also helps."},
			"Solar panels convert sunlight into electricity for homes. Batteries store solar electricity for the evening."},
		{"short text is returned whole", providers.SummarizeRequest{Text: "Bees make honey. They live in hives."},
			"Bees make honey. They live in hives."},
		{"word budget smaller than any sentence", providers.SummarizeRequest{
			Text: "The printing press spread across Europe within a few decades and made books much cheaper than hand copies ever were for ordinary readers.", MaxLength: 21},
			"The printing press spread across Europe within a few decades and made books much cheaper than hand copies ever were for…"},
	}
	p := newProvider(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.Summarize(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, resp.Text); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tt.req.MaxLength > maxSentenceBudget && wordCount(resp.Text) > tt.req.MaxLength {
				t.Errorf("%d words, budget %d", wordCount(resp.Text), tt.req.MaxLength)
			}
		})
	}
}

func TestSummarizeErrors(t *testing.T) {
	tests := []struct {
		name string
		req  providers.SummarizeRequest
		want string
	}{
		{"negative length", providers.SummarizeRequest{Text: beesParagraph, MaxLength: -1}, "negative"},
		{"empty", providers.SummarizeRequest{Text: "  \n"}, "no sentences"},
		{"headings only", providers.SummarizeRequest{Text: "# Title\n\n## Part"}, "no sentences"},
	}
	p := newProvider(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Summarize(context.Background(), tt.req)
			var pe *providers.Error
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a *providers.Error containing %q", err, tt.want)
			}
		})
	}
}

// TestSummaryInDocumentOrder summarises every sample document and checks that the chosen
// sentences are verbatim and appear in the order of the source.
func TestSummaryInDocumentOrder(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "flows", "data", "*.md"))
	p := newProvider(t, nil)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := p.Summarize(context.Background(), providers.SummarizeRequest{Text: string(b), MaxLength: 4})
			if err != nil {
				t.Fatal(err)
			}
			got := splitSentences(resp.Text)
			if len(got) != 4 {
				t.Fatalf("got %d sentences, want 4: %q", len(got), resp.Text)
			}
			all := splitSentences(string(b))
			last := -1
			for _, s := range got {
				i := indexOf(all, s)
				if i <= last {
					t.Fatalf("sentence %q is at %d, after %d (or not in the source)", s, i, last)
				}
				last = i
			}
		})
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func TestPageRankCentralSentenceWins(t *testing.T) {
	sents := []string{
		"Solar panels and wind turbines feed the grid.",
		"Solar panels cover the roof.",
		"Wind turbines spin offshore.",
		"The grid balances supply.",
		"Cats sleep all day.",
	}
	vecs, _ := tfidfVectors(sents)
	scores := rankSentences(vecs, nil)
	sum := 0.0
	for _, s := range scores {
		sum += s
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("scores sum to %v, want 1", sum)
	}
	order := byScore(scores)
	if order[0] != 0 || order[len(order)-1] != 4 {
		t.Errorf("ranking %v (scores %v): want the hub sentence 0 first and the isolated sentence 4 last", order, scores)
	}
}

func TestBudgetFor(t *testing.T) {
	tests := []struct {
		max  int
		want budget
	}{
		{0, budget{sentences: 3}}, {1, budget{sentences: 1}}, {20, budget{sentences: 20}}, {21, budget{words: 21}}, {120, budget{words: 120}},
	}
	for _, tt := range tests {
		if got := budgetFor(tt.max); got != tt.want {
			t.Errorf("budgetFor(%d) = %+v, want %+v", tt.max, got, tt.want)
		}
	}
}

// BenchmarkSummarize reports documents/s for the ~600-word sample documents.
func BenchmarkSummarize(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "flows", "data", "*.md"))
	var docs []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, string(data))
	}
	n := 0
	for i := 0; b.Loop(); i++ {
		summarize(splitSentences(docs[i%len(docs)]), "", budget{sentences: 3})
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "docs/s")
}
