// Package testbin builds the aiflow command for end-to-end tests, once per test binary,
// from this repository's main module (also for tests in nested modules, whose own go.mod
// must not decide the command's dependencies).
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var built struct {
	once sync.Once
	path string
	err  error
}

// Aiflow builds ./cmd/aiflow into dir on first use (a new temporary directory when dir is
// "", left for the system to clean) and returns its path; later calls return the same
// binary. Under -short the test is skipped.
func Aiflow(t testing.TB, dir string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds the aiflow binary; skipped with -short")
	}
	built.once.Do(func() {
		if dir == "" {
			if dir, built.err = os.MkdirTemp("", "aiflow-bin-"); built.err != nil {
				return
			}
		}
		out := filepath.Join(dir, "aiflow")
		cmd := exec.Command(GoTool(), "build", "-o", out, "./cmd/aiflow")
		cmd.Dir = repoRoot()
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
		if b, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build ./cmd/aiflow: %v\n%s", err, b)
			return
		}
		built.path = out
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// GoTool is the go command of the toolchain running the tests.
func GoTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); exists(p) {
		return p
	}
	return "go"
}

// repoRoot is the main module's directory: two above this file's.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
