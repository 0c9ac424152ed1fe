package providers

import (
	"strings"
	"testing"
)

func TestCheckOneStatement(t *testing.T) {
	tests := []struct {
		sql  string
		want string // "" when accepted, else part of the error
	}{
		{"SELECT 1", ""},
		{"SELECT 1;", ""},
		{"SELECT 1 ; ;\n\t", ""},
		{"SELECT 'a;b', \"c;d\", `e;f`, [g;h]", ""},
		{"SELECT 'it''s; fine'", ""},
		{"SELECT 1; -- done; really\n/* ; */", ""},
		{"SELECT 1 -- ; DROP TABLE t", ""},
		{"SELECT 1 /* ; DROP TABLE t */", ""},
		{"SELECT 1; /* unclosed ; DROP TABLE t", ""},
		{"SELECT 1; DROP TABLE t", "another starts at line 1, column 11"},
		{"SELECT 1;\n  DROP TABLE t", "another starts at line 2, column 3"},
		{"SELECT 'x'';'; DROP TABLE t", "more than one SQL statement"},
		{"SELECT [a]]; DROP TABLE t", "more than one SQL statement"}, // ] has no escape in [ ]
		{"SELECT 1; 'x'", "more than one SQL statement"},
		{"SELECT 1;-- c\nX", "line 2, column 1"},
		{"SELECT 1;\vDROP TABLE t", "more than one SQL statement"}, // not SQLite whitespace
		{"CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM b; END", "more than one SQL statement"},
		{"SELECT 1\x00; DROP TABLE t", "NUL byte at line 1, column 9"},
	}
	for _, tt := range tests {
		err := CheckOneStatement(tt.sql)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v", tt.sql, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: error = %v, want it to contain %q", tt.sql, err, tt.want)
		}
	}
}
