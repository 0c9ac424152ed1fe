package spec_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/spec"
)

// hostile builds inputs that must be refused, not parsed: each returns the source and a
// substring of the expected error summary.
var hostile = []struct {
	name string
	src  func() []byte
	// summaries lists, separated by |, substrings of which the first error must hold one.
	summaries string
}{
	{"50 MB file", func() []byte {
		return append([]byte("aiflow: 1\nsteps:\n  a:\n    uses: transform\n    with:\n      expr: "), bytes.Repeat([]byte("x"), 50<<20)...)
	}, "flow file too large"},
	{"10000 nested flow sequences", func() []byte {
		return []byte("aiflow: 1\nvars:\n  x: " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "\n")
	}, "nesting too deep"},
	{"10000 nested flow mappings", func() []byte {
		return []byte("aiflow: 1\nvars:\n  x: " + strings.Repeat("{a: ", 10000) + "1" + strings.Repeat("}", 10000) + "\n")
	}, "nesting too deep"},
	{"10000 unclosed brackets", func() []byte {
		return []byte("aiflow: 1\nsteps: " + strings.Repeat("[", 10000))
	}, "nesting too deep"},
	{"10000 nested block sequences on one line", func() []byte {
		return []byte("aiflow: 1\nvars:\n  x:\n    " + strings.Repeat("- ", 10000) + "x\n")
	}, "nesting too deep|exceeded max depth"},
	{"10000 nested block sequences indented", func() []byte {
		var b strings.Builder
		b.WriteString("aiflow: 1\nvars:\n  x:\n")
		for i := 0; i < 10000; i++ {
			b.WriteString(strings.Repeat(" ", 4+i))
			b.WriteString("-\n")
		}
		return []byte(b.String())
	}, "flow file too large"},
	{"3000 nested block mappings", func() []byte {
		var b strings.Builder
		b.WriteString("aiflow: 1\nvars:\n  x:\n")
		for i := 0; i < 3000; i++ {
			b.WriteString(strings.Repeat(" ", 4+i))
			b.WriteString("k:\n")
		}
		return []byte(b.String())
	}, "nesting too deep"},
	{"alias bomb", func() []byte {
		var b strings.Builder
		b.WriteString("aiflow: 1\nvars:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
		for i := 1; i < 12; i++ {
			b.WriteString(strings.ReplaceAll(strings.ReplaceAll("  aN: &aN [*aP, *aP, *aP, *aP, *aP, *aP, *aP, *aP, *aP, *aP]\n", "N", itoa(i)), "P", itoa(i-1)))
		}
		b.WriteString("steps:\n  s:\n    uses: transform\n    with:\n      expr: ${ vars.a11 }\n")
		return []byte(b.String())
	}, "YAML nodes"},
	{"deep alias chain", func() []byte {
		var b strings.Builder
		b.WriteString("aiflow: 1\nvars:\n  a0: &a0 x\n")
		for i := 1; i < 40; i++ {
			b.WriteString("  a" + itoa(i) + ": &a" + itoa(i) + " [*a" + itoa(i-1) + "]\n")
		}
		return []byte(b.String())
	}, "nest"},
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestHostileInputs checks that oversized and pathological files are refused with a
// positioned error instead of exhausting memory, time or the stack.
func TestHostileInputs(t *testing.T) {
	for _, tt := range hostile {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src()
			f, diags := spec.Parse("hostile.yaml", src)
			if !diags.HasErrors() {
				t.Fatalf("want an error, got none (flow %v)", f != nil)
			}
			errs := diags.Errors()
			if !containsAny(errs[0].Summary+": "+errs[0].Detail, strings.Split(tt.summaries, "|")) {
				t.Errorf("want an error about %q, got %v", tt.summaries, errs)
			}
			if errs[0].Pos.File != "hostile.yaml" {
				t.Errorf("error has no file: %v", errs[0])
			}
			if len(errs) > 10 {
				t.Errorf("want a handful of errors, got %d", len(errs))
			}
		})
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
