package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
)

// paragraph returns the n-th (from 1) non-heading paragraph of examples/flows/data/<doc>.md.
func paragraph(t *testing.T, doc string, n int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "flows", "data", doc+".md"))
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for _, p := range strings.Split(string(b), "\n\n") {
		if p = strings.TrimSpace(p); p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		if i++; i == n {
			return p
		}
	}
	t.Fatalf("%s has no paragraph %d", doc, n)
	return ""
}

// TestFocusedAnswer replays the examples: the answer holds the sentences that
// answer the question, from the paragraphs that are about it, or is exactly Abstention.
func TestFocusedAnswer(t *testing.T) {
	tides := paragraph(t, "tides", 1)
	workers := paragraph(t, "go-concurrency", 8)
	power := paragraph(t, "tides", 9)
	night := paragraph(t, "bird-migration", 7)
	tests := []struct {
		name, text, question string
		want                 []string // sentences the answer must hold
		avoid                string   // text it must not hold
	}{
		{"README example ignores the unrelated paragraph", tides + "\n\n" + workers, "How do tides work?",
			[]string{"Tides are the regular rise and fall of sea level along coasts"}, "goroutines"},
		{"a word in passing does not answer", power, "What is the capital of France?", []string{Abstention}, ""},
		{"the night paragraph, not the glass buildings", night + "\n\n" + paragraph(t, "bird-migration", 10), "Why do birds migrate at night?",
			[]string{"Many small songbirds migrate at night."}, "glass"},
		{"nothing retrieved", "", "How do tides work?", []string{Abstention}, ""},
		{"the sentence naming the asked-about directive is not cut below the best", paragraph(t, "http-caching", 2) + "\n\n" + paragraph(t, "http-caching", 3),
			"what does max-age in the Cache-Control header mean", []string{"The max-age directive says how many seconds a response stays fresh"}, ""},
	}
	p := newProvider(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.Summarize(context.Background(), providers.SummarizeRequest{Text: tt.text, Focus: tt.question, MaxLength: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(resp.Text, w) {
					t.Errorf("answer %q does not hold %q", resp.Text, w)
				}
			}
			if tt.avoid != "" && strings.Contains(resp.Text, tt.avoid) {
				t.Errorf("answer %q holds %q", resp.Text, tt.avoid)
			}
		})
	}
}

func TestStemAndFocusTerms(t *testing.T) {
	for _, tt := range []struct{ a, b string }{{"migrate", "migration"}, {"migrating", "migrate"}, {"pollinated", "pollination"}, {"tides", "tide"}, {"clouds", "cloud"}} {
		if stem(tt.a) != stem(tt.b) {
			t.Errorf("stem(%q) = %q, stem(%q) = %q; want equal", tt.a, stem(tt.a), tt.b, stem(tt.b))
		}
	}
	if got := strings.Join(focusTerms("How do tides work?"), " "); got != "tide" {
		t.Errorf("focus terms of the README question = %q, want %q", got, "tide")
	}
}
