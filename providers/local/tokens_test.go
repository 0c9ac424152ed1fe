package local

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWords(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"case and punctuation", "Hello, World! HTTP/2 rocks.", []string{"hello", "world", "http", "2", "rocks"}},
		{"apostrophes", "Don't touch Cloudflare's isolates’ state", []string{"dont", "touch", "cloudflare", "isolates", "state"}},
		{"possessive before punctuation", "the bee's.", []string{"the", "bee"}},
		{"unicode", "Straße café 東京 naïve", []string{"straße", "café", "東京", "naïve"}},
		{"decimal point splits numbers", "3.14 and 2025", []string{"3", "14", "and", "2025"}},
		{"empty", " -- ", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, words(tt.text)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFold(t *testing.T) {
	tests := map[string]string{
		"caches": "cache", "cities": "city", "classes": "class", "glass": "glass", "virus": "virus",
		"analysis": "analysis", "bees": "bees", "panels": "panel", "tides": "tide",
	}
	got := map[string]string{}
	for w := range tests {
		got[w] = fold(w)
	}
	if diff := cmp.Diff(tests, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
