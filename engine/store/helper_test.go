package store

import (
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
)

// helperEnv names the environment variable that turns the test binary into
// a helper process for the multi-process tests; its value picks the helper.
const helperEnv = "AIFLOW_STORE_TEST_HELPER"

// helpers are the roles a re-executed test binary can play, registered by
// the test files that use them. Each reads its arguments from the
// environment and returns the process exit code.
var helpers = map[string]func() int{}

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		h, ok := helpers[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
			os.Exit(2)
		}
		os.Exit(h())
	}
	os.Exit(m.Run())
}

// helperCommand returns a command re-running this test binary as helper name
// with the extra environment variables env.
func helperCommand(t *testing.T, name string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), helperEnv+"="+name), env...)
	cmd.Stderr = os.Stderr
	return cmd
}

// atomicCounter hands out 0, 1, 2, … to concurrent callers.
type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int { return int(c.n.Add(1) - 1) }
