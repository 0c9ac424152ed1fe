package spec_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/spec"
)

// seedFlows returns every flow file the repository ships as an example or a fixture.
func seedFlows(t interface{ Fatal(...any) }) [][]byte {
	var out [][]byte
	for _, pattern := range []string{
		"../examples/flows/*.yaml",
		"testdata/valid/*.yaml",
		"testdata/invalid/*.yaml",
		"../engine/testdata/invalid/*.yaml",
	} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// FuzzParse checks that Parse never panics, that it returns a Flow whenever it reports
// no error, and that every diagnostic names the file and, unless it is about the whole
// file, a line.
func FuzzParse(f *testing.F) {
	for _, src := range seedFlows(f) {
		f.Add(src)
	}
	f.Add([]byte("aiflow: 1\nsteps: {a: {uses: transform, with: {expr: \"${ 1 }\"}}}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if s := string(src); strings.Contains(s, "file") && (strings.Contains(s, "dev") || strings.Contains(s, "proc") || strings.Contains(s, "sys")) {
			t.Skip("a prompt file under /dev, /proc or /sys may block or never end")
		}
		fl, diags := spec.Parse("fuzz.yaml", src)
		if fl == nil && !diags.HasErrors() {
			t.Fatalf("nil flow without an error: %v", diags)
		}
		for _, d := range diags {
			checkPositioned(t, d)
		}
	})
}

// wholeFile are summaries that are about the file as a whole and may lack a line.
var wholeFile = map[string]bool{"flow file too large": true}

func checkPositioned(t *testing.T, d spec.Diagnostic) {
	t.Helper()
	if d.Pos.File != "fuzz.yaml" {
		t.Errorf("diagnostic without the file name: %v", d)
	}
	// yaml.v3 reports a few errors (e.g. "unknown anchor 'x' referenced") without a line,
	// and spec passes them on as they are.
	if d.Pos.Line < 1 && !wholeFile[d.Summary] && d.Summary != "invalid YAML" {
		t.Errorf("diagnostic without a line: %#v", d)
	}
	if d.Summary == "" {
		t.Errorf("diagnostic without a summary: %#v", d)
	}
}
