package local

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// vaderReference holds scores published by the reference vaderSentiment (Python) README,
// which reports values rounded to 3–4 decimals.
var vaderReference = []struct {
	text                string
	neg, neu, pos, comp float64
	label               string
}{
	{"VADER is smart, handsome, and funny.", 0, 0.254, 0.746, 0.8316, LabelPositive},
	{"VADER is smart, handsome, and funny!", 0, 0.248, 0.752, 0.8439, LabelPositive},
	{"VADER is very smart, handsome, and funny.", 0, 0.299, 0.701, 0.8545, LabelPositive},
	{"VADER is VERY SMART, handsome, and FUNNY.", 0, 0.246, 0.754, 0.9227, LabelPositive},
	{"VADER is not smart, handsome, nor funny.", 0.646, 0.354, 0, -0.7424, LabelNegative},
	{"The book was good.", 0, 0.508, 0.492, 0.4404, LabelPositive},
	{"At least it isn't a horrible book.", 0, 0.678, 0.322, 0.431, LabelPositive},
	{"The plot was good, but the characters are uncompelling and the dialog is not great.", 0.327, 0.579, 0.094, -0.7042, LabelNegative},
	{"Today SUX!", 0.779, 0.221, 0, -0.5461, LabelNegative},
	{"Make sure you :) or :D today!", 0, 0.294, 0.706, 0.8633, LabelPositive},
	{"Not bad at all", 0, 0.513, 0.487, 0.431, LabelPositive},
}

func TestVADERReference(t *testing.T) {
	p := newProvider(t, nil)
	for _, ref := range vaderReference {
		t.Run(ref.text, func(t *testing.T) {
			resp, err := p.Classify(context.Background(), providers.ClassifyRequest{Text: ref.text})
			if err != nil {
				t.Fatal(err)
			}
			got := [4]float64{}
			for i, k := range []string{"vader_neg", "vader_neu", "vader_pos", "vader_compound"} {
				if got[i], err = strconv.ParseFloat(resp.Meta[k], 64); err != nil {
					t.Fatalf("meta %s = %q: %v", k, resp.Meta[k], err)
				}
			}
			want := [4]float64{ref.neg, ref.neu, ref.pos, ref.comp}
			if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 6e-4)); diff != "" {
				t.Errorf("VADER neg, neu, pos, compound (-reference +got):\n%s", diff)
			}
			if resp.Scores[0].Label != ref.label {
				t.Errorf("best label %s, want %s (scores %v)", resp.Scores[0].Label, ref.label, resp.Scores)
			}
		})
	}
}

// TestVADERCompoundExact pins the compound scores of the README's first two examples to
// the four decimals the reference prints.
func TestVADERCompoundExact(t *testing.T) {
	want := map[string]string{
		"VADER is smart, handsome, and funny.":     "0.8316",
		"VADER is not smart, handsome, nor funny.": "-0.7424",
	}
	p := newProvider(t, nil)
	got := map[string]string{}
	for text := range want {
		resp, err := p.Classify(context.Background(), providers.ClassifyRequest{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		got[text] = resp.Meta["vader_compound"]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-reference +got):\n%s", diff)
	}
}

func TestSentimentScores(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []providers.LabelScore
	}{
		// neg 0, neu 0.5085, pos 0.4915, compound 0.4404: POSITIVE = pos + neu·c.
		{"positive", "The book was good.", []providers.LabelScore{
			{Label: LabelPositive, Score: 0.7155}, {Label: LabelNeutral, Score: 0.2845}, {Label: LabelNegative, Score: 0}}},
		{"negative", "VADER is not smart, handsome, nor funny.", []providers.LabelScore{
			{Label: LabelNegative, Score: 0.9088}, {Label: LabelNeutral, Score: 0.0912}, {Label: LabelPositive, Score: 0}}},
		{"neutral", "The train leaves at nine.", []providers.LabelScore{
			{Label: LabelNeutral, Score: 1}, {Label: LabelPositive, Score: 0}, {Label: LabelNegative, Score: 0}}},
		{"empty", "", []providers.LabelScore{
			{Label: LabelNeutral, Score: 1}, {Label: LabelPositive, Score: 0}, {Label: LabelNegative, Score: 0}}},
	}
	p := newProvider(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.Classify(context.Background(), providers.ClassifyRequest{Model: ModelVADER, Text: tt.text})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, resp.Scores, cmpopts.EquateApprox(0, 5e-5)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if resp.Meta["model"] != ModelVADER {
				t.Errorf("meta model %q", resp.Meta["model"])
			}
		})
	}
}

func TestZeroShot(t *testing.T) {
	support := []string{
		"billing: invoices, charges, payments and refunds",
		"technical: errors, crashes, bugs and outages",
		"account: password, login and profile settings",
	}
	topics := []string{"sports: football match, goal, player, team", "politics: election, government, vote, parliament", "cooking: recipe, bake, dough, flour, oven"}
	tests := []struct {
		name   string
		text   string
		labels []string
		want   string
	}{
		{"billing", "My invoice shows I was charged twice this month, please refund me.", support, "billing"},
		{"technical", "The app crashes with an error every time I open it.", support, "technical"},
		{"account", "I forgot my password and cannot log in.", support, "account"},
		{"cooking", "Add the flour and knead the dough before baking the bread.", topics, "cooking"},
		{"politics", "The government called an early election and parliament will vote on the budget.", topics, "politics"},
		{"sports", "The team's best player scored the winning goal in the final minute of the match.", topics, "sports"},
		{"bare names", "We need a refund for this invoice.", []string{"shipping", "refund", "invoice question"}, "refund"},
	}
	p := newProvider(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.Classify(context.Background(), providers.ClassifyRequest{Text: tt.text, Labels: tt.labels})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Scores[0].Label != tt.want {
				t.Errorf("best %q, want %q (scores %v)", resp.Scores[0].Label, tt.want, resp.Scores)
			}
			sum := 0.0
			for i, s := range resp.Scores {
				sum += s.Score
				if i > 0 && s.Score > resp.Scores[i-1].Score {
					t.Errorf("scores not best first: %v", resp.Scores)
				}
			}
			if math.Abs(sum-1) > 1e-9 || len(resp.Scores) != len(tt.labels) {
				t.Errorf("scores %v: want %d labels summing to 1", resp.Scores, len(tt.labels))
			}
		})
	}
}

func TestZeroShotNoEvidenceIsUniform(t *testing.T) {
	resp, err := newProvider(t, nil).Classify(context.Background(), providers.ClassifyRequest{Text: "", Labels: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.LabelScore{{Label: "a", Score: 0.5}, {Label: "b", Score: 0.5}}
	if diff := cmp.Diff(want, resp.Scores); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestClassifyErrors(t *testing.T) {
	tests := []struct {
		name string
		req  providers.ClassifyRequest
		want string
	}{
		{"zero-shot without labels", providers.ClassifyRequest{Model: ModelZeroShot, Text: "x"}, "needs labels"},
		{"vader with labels", providers.ClassifyRequest{Model: ModelVADER, Text: "x", Labels: []string{"a"}}, "fixed labels"},
		{"duplicate label", providers.ClassifyRequest{Text: "x", Labels: []string{"a: one", "a: two"}}, `"a" is given twice`},
		{"empty label", providers.ClassifyRequest{Text: "x", Labels: []string{"ok", " : desc"}}, "has no name"},
	}
	p := newProvider(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Classify(context.Background(), tt.req)
			var pe *providers.Error
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a *providers.Error containing %q", err, tt.want)
			}
		})
	}
}

// TestClassifyConcurrent shares one provider (and the VADER lexicon) across goroutines;
// run with -race.
func TestClassifyConcurrent(t *testing.T) {
	p := newProvider(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			req := providers.ClassifyRequest{Text: vaderReference[i%len(vaderReference)].text}
			if i%2 == 1 {
				req.Labels = []string{"books: book, plot, characters", "people: smart, handsome, funny"}
			}
			if _, err := p.Classify(context.Background(), req); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
