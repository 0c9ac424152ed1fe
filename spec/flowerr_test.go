package spec

import (
	"strings"
	"testing"
)

// TestFlowCollectionErrorPosition checks that a malformed { … } or [ … ] is reported
// where the stray token is, not at the line yaml.v3 names (the zero-based line where
// the collection opens).
func TestFlowCollectionErrorPosition(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int
		path      string
		summary   string
	}{
		{"question mark in the third of three flow mappings",
			"aiflow: 1\nname: q\nvars:\n  a: { type: string, default: x }\n  b: { type: string, default: y }\n  c: { type: string, default: why? not }\nsteps: {}\n",
			6, 34, "vars.c.default", "flow mapping"},
		{"question mark after a multi-byte character",
			"aiflow: 1\nvars:\n  a: { type: string }\n  c: { type: string, default: ¿qué? no }\nsteps: {}\n",
			4, 35, "vars.c.default", "flow mapping"},
		{"mapping spread over lines",
			"aiflow: 1\nvars:\n  c: {\n    type: string,\n    default: a?b }\nsteps: {}\n",
			5, 15, "vars.c.default", "flow mapping"},
		{"braces inside quotes are not collections",
			"aiflow: 1\nvars:\n  x: { type: string }\n  c: { description: \"{ [ \", default: a?b }\nsteps: {}\n",
			4, 39, "vars.c.default", "flow mapping"},
		{"question mark in a flow sequence",
			"aiflow: 1\nvars:\n  x: { type: string }\n  c: { type: string, enum: [a, b?c] }\nsteps: {}\n",
			4, 33, "vars.c.enum", "flow sequence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Parse("f.yaml", []byte(tt.src))
			if len(diags) != 1 {
				t.Fatalf("want one diagnostic, got %v", diags)
			}
			d := diags[0]
			if d.Pos.Line != tt.line || d.Pos.Col != tt.col || d.Path != tt.path || !strings.Contains(d.Summary, tt.summary) {
				t.Errorf("got %d:%d %s %q, want %d:%d %s %q", d.Pos.Line, d.Pos.Col, d.Path, d.Summary, tt.line, tt.col, tt.path, tt.summary)
			}
			if !strings.Contains(d.Detail, `found "?"`) {
				t.Errorf("detail does not name the stray character: %s", d.Detail)
			}
		})
	}
}
