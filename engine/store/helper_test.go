package store

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aiflow/aiflow/internal/pgtest"
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
	os.Exit(runSuite(m))
}

// backendEnv selects the backend the suite runs against in this process: empty for
// SQLite, "postgres" for the re-executed Postgres pass.
const backendEnv = "AIFLOW_STORE_TEST_BACKEND"

// testBackend is the dialect newStore and openStore open.
var testBackend = SQLite

// pgServer is the Postgres server of the Postgres pass.
var pgServer *pgtest.Server

// runSuite runs the whole suite on SQLite and then, when a Postgres server can be had,
// again on Postgres: the test binary re-runs itself with backendEnv=postgres and the
// server's URL, so every test of the package passes on both backends. Under
// AIFLOW_REQUIRE_POSTGRES=1 a missing server fails the run.
func runSuite(m *testing.M) int {
	if os.Getenv(backendEnv) == string(Postgres) {
		testBackend = Postgres
		var err error
		if pgServer, err = pgtest.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "postgres pass:", err)
			return 1
		}
		defer pgServer.Stop()
		return m.Run()
	}
	code := m.Run()
	if !pgtest.Available() {
		if pgtest.Required() {
			fmt.Fprintln(os.Stderr, "FAIL: AIFLOW_REQUIRE_POSTGRES=1 but", pgtest.ErrUnavailable)
			return 1
		}
		fmt.Fprintln(os.Stderr, "store: skipping the Postgres pass:", pgtest.ErrUnavailable)
		return code
	}
	srv, err := pgtest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: starting PostgreSQL for the Postgres pass:", err)
		return 1
	}
	defer srv.Stop()
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cmd := exec.Command(exe, childArgs(os.Args[1:])...)
	cmd.Env = append(os.Environ(), backendEnv+"="+string(Postgres), "AIFLOW_TEST_POSTGRES="+srv.AdminURL())
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: the Postgres pass of the store suite:", err)
		return 1
	}
	return code
}

// childArgs are the test flags for the Postgres pass: the same selection and
// verbosity, without the files the go command reads back from this process (test log,
// profiles), which the second pass would overwrite.
func childArgs(args []string) []string {
	var out []string
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "test.testlogfile", "test.coverprofile", "test.cpuprofile", "test.memprofile", "test.blockprofile",
			"test.mutexprofile", "test.trace", "test.gocoverdir":
			continue
		}
		out = append(out, a)
	}
	return out
}

// sqliteOnly skips a test of SQLite's own machinery (its file, WAL, PRAGMAs, file
// locks) in the Postgres pass; the SQLite pass has run it.
func sqliteOnly(t testing.TB) {
	t.Helper()
	if testBackend != SQLite {
		t.Skip("tests SQLite's own machinery; ran in the SQLite pass")
	}
}

// postgresOnly skips a test of the Postgres backend outside the Postgres pass.
func postgresOnly(t testing.TB) {
	t.Helper()
	if testBackend != Postgres {
		t.Skip("tests the Postgres backend; runs in the Postgres pass")
	}
}

var (
	testURLsMu sync.Mutex
	testURLs   = map[string]string{} // state dir → its database in the Postgres pass
)

// testOptions are the options opening dir in this pass: a database of its own per
// state directory on Postgres (the same one when dir is opened again).
func testOptions(t testing.TB, dir string) Options {
	t.Helper()
	if testBackend != Postgres {
		return Options{}
	}
	testURLsMu.Lock()
	defer testURLsMu.Unlock()
	u, ok := testURLs[dir]
	if !ok {
		var err error
		if u, err = pgServer.NewDatabase(t.Name()); err != nil {
			t.Fatal(err)
		}
		testURLs[dir] = u
	}
	return Options{URL: u}
}

// testOpen opens dir in this pass's backend.
func testOpen(t testing.TB, dir string) (*Store, error) {
	t.Helper()
	return OpenWith(dir, testOptions(t, dir))
}

// sqliteSteps are the SQLite texts of steps.
func sqliteSteps(steps []migration) []string {
	out := make([]string, len(steps))
	for i, m := range steps {
		out[i] = m.sqlite
	}
	return out
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

// startHelper starts the helper process name and returns once it has printed want as
// its first line (it is then where the test wants it, e.g. holding a lock); the test
// fails, the helper killed, if it prints anything else first.
func startHelper(t *testing.T, want, name string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := helperCommand(t, name, env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != want+"\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q", line)
	}
	return cmd
}

// atomicCounter hands out 0, 1, 2, … to concurrent callers.
type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int { return int(c.n.Add(1) - 1) }
