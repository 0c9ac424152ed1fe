//go:build unix

package engine_test

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aiflow/aiflow/engine"
)

// TestFileRefusesNamedPipe: file() of a named pipe fails at once instead of waiting
// forever for a writer.
func TestFileRefusesNamedPipe(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	c := engine.NewCompiler(&engine.Funcs{Dir: dir})
	tmpl, _, diags := c.Compile(exprValue(`${ file("pipe") }`))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	_, err := tmpl.Eval(nil)
	if err == nil || !strings.Contains(err.Error(), `file("pipe"): not a regular file (a named pipe)`) {
		t.Fatalf("file() of a named pipe: got %v", err)
	}
}
