package testfiles_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aiflow/aiflow/internal/testfiles"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"flow.yaml":        "aiflow: 1\n",
		"data/a.md":        "bees",
		"notes/deep/x.txt": "",
	}
	testfiles.Write(t, dir, files)
	for name, want := range files {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("%s = %q, want %q", name, b, want)
		}
	}
}
