package local

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitSentences(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"plain", "One fish. Two fish! Red fish? Blue fish.", []string{"One fish.", "Two fish!", "Red fish?", "Blue fish."}},
		{"titles", "Dr. Smith met Mr. Jones at St. Paul's. They talked.", []string{"Dr. Smith met Mr. Jones at St. Paul's.", "They talked."}},
		{"latin abbreviations", "Use a cache, e.g. Redis or i.e. Memcached. Then measure.", []string{"Use a cache, e.g. Redis or i.e. Memcached.", "Then measure."}},
		{"e.g. before a capital", "Pick a region, e.g. Europe, first. Done.", []string{"Pick a region, e.g. Europe, first.", "Done."}},
		{"decimals and versions", "Prices rose 2.5 percent in v1.2. Go 1.26 is out.", []string{"Prices rose 2.5 percent in v1.2.", "Go 1.26 is out."}},
		{"lowercase after dot", "It costs approx. five euros. Cheap.", []string{"It costs approx. five euros.", "Cheap."}},
		{"initials", "It was written by J. R. R. Tolkien. Read it.", []string{"It was written by J. R. R. Tolkien.", "Read it."}},
		{"closing quote", `He said "Stop." Then he left.`, []string{`He said "Stop."`, "Then he left."}},
		{"question inside quote", `"Is it?" she asked. Yes.`, []string{`"Is it?" she asked.`, "Yes."}},
		{"ellipsis", "Wait... Something moved. Look…", []string{"Wait...", "Something moved.", "Look…"}},
		{"urls", "See example.com for details. Bye.", []string{"See example.com for details.", "Bye."}},
		{"paragraphs and headings", "# Title\n\nFirst line\ncontinues here. Second.\n\n## Part\nThird", []string{"First line continues here.", "Second.", "Third"}},
		{"list items", "Steps:\n- mix flour\n- add water. Stir.\n1. bake", []string{"Steps:", "mix flour", "add water.", "Stir.", "bake"}},
		{"no terminator", "just words", []string{"just words"}},
		{"empty", " \n\n ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, splitSentences(tt.text)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
