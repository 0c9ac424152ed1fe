package question

import "testing"

func TestQuery(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"How do tides work?", "How do tides"},
		{"What does max-age in the Cache-Control header mean?", "What does max-age in the Cache-Control header"},
		{"Why do birds migrate at night?", "Why do birds migrate at night?"},
		{"How does a worker pool work", "How does a worker pool"},
		{"work?", "work?"},
		{"", ""},
	} {
		if got := Query(tt.in); got != tt.want {
			t.Errorf("Query(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if !IsFrameWord("work") || IsFrameWord("worker") {
		t.Error("IsFrameWord: want work framing, worker not")
	}
}
