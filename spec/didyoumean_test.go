package spec

import "testing"

func TestSuggest(t *testing.T) {
	kinds := []string{"chunk", "embed", "generate", "search", "summarize", "transform"}
	tests := []struct {
		given string
		cands []string
		want  string
	}{
		{"chunck", kinds, "chunk"},
		{"generat", kinds, "generate"},
		{"sumarize", kinds, "summarize"},
		{"wiht", []string{"with", "when", "uses"}, "with"}, // a swap costs one edit
		{"fsat", []string{"fast", "smart"}, "fast"},        // a swap costs one edit
		{"c", []string{"a", "b"}, ""},                      // no guess for one letter
		{"translat", kinds, ""},                            // too far from transform
		{"GENERATE", kinds, "generate"},                    // case does not matter
		{"zzzzzz", kinds, ""},
	}
	for _, tt := range tests {
		t.Run(tt.given, func(t *testing.T) {
			if got := Suggest(tt.given, tt.cands); got != tt.want {
				t.Errorf("Suggest(%q) = %q, want %q", tt.given, got, tt.want)
			}
		})
	}
}
