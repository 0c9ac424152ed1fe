package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExamplesAreFormatted keeps the shipped flows in canonical form (aiflow fmt --check).
func TestExamplesAreFormatted(t *testing.T) {
	files, _ := filepath.Glob("../../examples/flows/*.yaml")
	more, _ := filepath.Glob("../../examples/flows/tools/*.yaml")
	for _, f := range append(files, more...) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, err := formatFlow(src)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if string(out) != string(src) {
			t.Errorf("%s is not formatted; run aiflow fmt %s", f, f)
		}
		again, _ := formatFlow(out)
		if string(again) != string(out) {
			t.Errorf("%s: formatting twice changes it again", f)
		}
	}
}

// TestReadmeFlowIsFormatted keeps the README's example flows in the style aiflow fmt writes
// (issue 12: the README showed { type: string } while fmt wrote {type: string}).
func TestReadmeFlowIsFormatted(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	n := 0
	for _, m := range blocks {
		if !strings.HasPrefix(m[1], "aiflow: 1\n") {
			continue // a fragment, not a whole flow
		}
		n++
		out, err := formatFlow([]byte(m[1]))
		if err != nil {
			t.Errorf("README flow %d: %v", n, err)
			continue
		}
		if diff := cmp.Diff(m[1], string(out)); diff != "" {
			t.Errorf("README flow %d is not what aiflow fmt writes (-readme +fmt):\n%s", n, diff)
		}
	}
	if n == 0 {
		t.Fatal("no flow in README.md")
	}
}
