package providers_test

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
)

func TestCheckKey(t *testing.T) {
	tests := []struct{ key, want string }{
		{"images/cat.png", ""},
		{"a/b/", ""},
		{"", "empty object key"},
		{"../secret", "has a .. element"},
		{"a/../../b", "has a .. element"},
		{"./a", "has a . element"},
		{"/etc/passwd", "is absolute"},
		{`a\b`, "backslash"},
		{"a\nb", "control character"},
		{"a\x7fb", "control character"},
		{"a//b", "empty element"},
		{"a\xffb", "not UTF-8"},
		{strings.Repeat("k", 1025), "the limit is 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			err := providers.CheckKey(tt.key)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckKey(%q) = %v, want nil", tt.key, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckKey(%q) = %v, want %q", tt.key, err, tt.want)
			}
		})
	}
}
