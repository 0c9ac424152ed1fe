//go:build unix

package spec_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aiflow/aiflow/spec"
)

// TestReadLimitedRefusesSpecialFiles: a FIFO (which blocks on open until a writer
// comes) or a device is refused at once, as ReadLimited and as a prompt file.
func TestReadLimitedRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "prompt.md")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, path := range []string{fifo, "/dev/null", dir} {
		_, err := spec.ReadLimited(path)
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("ReadLimited(%s) = %v, want a not-a-regular-file error", path, err)
		}
	}
	flow := filepath.Join(dir, "flow.yaml")
	src := "aiflow: 1\nsteps:\n  a:\n    uses: generate\n    prompt: {file: prompt.md}\n"
	if err := os.WriteFile(flow, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	_, diags := spec.ParseFile(flow)
	if msg := diags.Err(); msg == nil || !strings.Contains(msg.Error(), "flow.yaml:5:20") || !strings.Contains(msg.Error(), "not a regular file") {
		t.Errorf("prompt file that is a FIFO: got %v", msg)
	}
	// The flow file itself.
	_, diags = spec.ParseFile(fifo)
	if msg := diags.Err(); msg == nil || !strings.Contains(msg.Error(), "not a regular file") {
		t.Errorf("flow file that is a FIFO: got %v", msg)
	}
}
