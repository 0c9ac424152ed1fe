// Package testfiles writes the small trees of files (a flow, its prompt files, its data)
// that tests run aiflow on. It is a non-test package so that tests in every package, and
// in the nested servertest module, which cannot import the main module's _test.go
// files, write their trees the same way.
package testfiles

import (
	"os"
	"path/filepath"
	"testing"
)

// Write writes each name → content of files under dir, making the directories a name
// holds (name is slash-separated, relative to dir); the test fails at the first error.
func Write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
