package main

import (
	"os"
	"path/filepath"
	"testing"
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
