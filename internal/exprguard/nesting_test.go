package exprguard

import (
	"strings"
	"testing"
)

func TestClip(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"short", "short"},
		{strings.Repeat("é", maxShown), strings.Repeat("é", maxShown)},
		{strings.Repeat("a", 150) + strings.Repeat("é", 150), strings.Repeat("a", 100) + " … " + strings.Repeat("é", 100)},
	} {
		if got := Clip(tc.in); got != tc.want {
			t.Errorf("Clip(%d bytes) = %q, want %q", len(tc.in), got, tc.want)
		}
	}
}
