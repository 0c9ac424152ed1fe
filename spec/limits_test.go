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
	}, "aliases expand to more than 200000 YAML nodes"},
	{"1,100,000 one-character list items", func() []byte {
		return []byte("aiflow: 1\nvars:\n  x: [" + strings.Repeat("1,", 1_100_000) + "1]\n")
	}, "too many YAML nodes (limit 1000000)"},
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

// TestInvalidUTF8Position checks that a file that is not UTF-8 is refused with the line
// and column of the first bad byte, so an editor can jump to it.
func TestInvalidUTF8Position(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want spec.Pos
	}{
		{"lone 0xff in a value", "aiflow: 1\nsteps:\n  a:\n    uses: transform\n    with:\n      expr: ab\xffcd\n", spec.Pos{File: "u.yaml", Line: 6, Col: 15}},
		{"after multibyte runes", "aiflow: 1\nname: \"héllo wörld\xc3\"\nsteps: {}\n", spec.Pos{File: "u.yaml", Line: 2, Col: 19}},
		{"truncated rune at the end", "aiflow: 1\n# caf\xc3", spec.Pos{File: "u.yaml", Line: 2, Col: 6}},
		{"latin-1 on line one", "\xe9aiflow: 1\n", spec.Pos{File: "u.yaml", Line: 1, Col: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := spec.Parse("u.yaml", []byte(tt.src))
			errs := diags.Errors()
			if len(errs) != 1 {
				t.Fatalf("want one error, got %v", diags)
			}
			if errs[0].Pos != tt.want || !strings.Contains(errs[0].Summary, "UTF-8") {
				t.Errorf("got %v, want an invalid UTF-8 error at %v", errs[0], tt.want)
			}
		})
	}
}

// plainKeys builds a flow whose var default is a mapping of n plain keys: big, but with
// no alias in it.
func plainKeys(n int) []byte {
	var b strings.Builder
	b.WriteString("aiflow: 1\nvars:\n  big:\n    default:\n")
	for i := 0; i < n; i++ {
		b.WriteString("      k" + itoa(i) + ": " + itoa(i) + "\n")
	}
	b.WriteString("steps:\n  a:\n    uses: transform\n    with:\n      expr: ${ vars.big }\n")
	return []byte(b.String())
}

// TestLargePlainFileAccepted checks that the alias-bomb guard counts what aliases add,
// not every node: a file of 190,000 plain keys within the size cap parses.
func TestLargePlainFileAccepted(t *testing.T) {
	f, diags := spec.Parse("big.yaml", plainKeys(190_000))
	if diags.HasErrors() || f == nil {
		t.Fatalf("want no errors, got %v", diags.Errors())
	}
	if got := len(f.VarByName("big").Default.Node.Content); got != 2*190_000 {
		t.Errorf("default has %d nodes, want %d", got, 2*190_000)
	}
}
