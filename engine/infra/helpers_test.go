package infra

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	_ "github.com/aiflow/aiflow/providers/aigateway"
	_ "github.com/aiflow/aiflow/providers/d1"
	_ "github.com/aiflow/aiflow/providers/local"
	_ "github.com/aiflow/aiflow/providers/localindex"
	_ "github.com/aiflow/aiflow/providers/sqlitedb"
	"github.com/aiflow/aiflow/providers/wiretest"
	_ "github.com/aiflow/aiflow/providers/workersai"
	"github.com/aiflow/aiflow/spec"
	_ "github.com/aiflow/aiflow/steps/transform"
)

// harness is a flow directory, its state and a Cloudflare emulator.
type harness struct {
	t     testing.TB
	dir   string
	state string
	cf    *wiretest.Cloudflare
	st    *store.Store
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{t: t, dir: dir, cf: wiretest.NewCloudflare(t)}
	h.st, h.state = openState(t, dir)
	return h
}

// openState opens the state directory of the flow directory dir until the test ends,
// and returns it with its path.
func openState(t testing.TB, dir string) (*store.Store, string) {
	t.Helper()
	state := filepath.Join(dir, ".aiflow")
	st, err := store.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, state
}

// compileFlow parses and compiles the flow file at path, failing the test on any error.
func compileFlow(t testing.TB, path string, o engine.Options) *engine.Flow {
	t.Helper()
	f, diags := spec.ParseFile(path)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", path, diags.Err())
	}
	fl, diags := engine.Compile(f, o)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", path, diags.Err())
	}
	return fl
}

// child is this test binary run again as a child process that runs one test.
type child struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
	err  error
}

// startChild runs the test named test alone in a child process, with env added to
// this process's environment; the child's stdout and stderr go to out.
func startChild(t testing.TB, test string, env ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1"), done: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	return c
}

// wait waits for the child to end and returns how it ended.
func (c *child) wait() error {
	<-c.done
	return c.err
}

func (h *harness) lookupEnv(name string) (string, bool) {
	switch name {
	case "CF_ACCOUNT":
		return h.cf.Account(), true
	case "CF_TOKEN":
		return h.cf.Token(), true
	case "CF_BASE":
		return h.cf.APIBase(), true
	}
	return "", false
}

// write puts a file into the flow directory.
func (h *harness) write(name, content string) {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// remove deletes a file of the flow directory.
func (h *harness) remove(name string) {
	h.t.Helper()
	if err := os.Remove(filepath.Join(h.dir, name)); err != nil {
		h.t.Fatal(err)
	}
}

// flow compiles the flow file name of the directory.
func (h *harness) flow(name string) *engine.Flow {
	h.t.Helper()
	return compileFlow(h.t, filepath.Join(h.dir, name), engine.Options{LookupEnv: h.lookupEnv})
}

func (h *harness) opts() Options {
	return Options{StateDir: h.state, HTTPClient: h.cf.Server.Client(), Retry: providers.RetryPolicy{Attempts: 2, Backoff: 1, MaxBackoff: 1}}
}

func (h *harness) plan(fl *engine.Flow) *Plan {
	h.t.Helper()
	p, err := NewPlan(context.Background(), fl, h.st, h.opts())
	if err != nil {
		h.t.Fatalf("plan: %v", err)
	}
	return p
}

func (h *harness) apply(fl *engine.Flow) *Plan {
	h.t.Helper()
	p, err := Apply(context.Background(), fl, h.st, h.opts(), nil)
	if err != nil {
		h.t.Fatalf("apply: %v", err)
	}
	return p
}

// archive is a txtar-like file: a comment, then "-- name --" sections.
type archive struct {
	comment string
	files   []archiveFile
}

type archiveFile struct {
	name string
	data string
}

var sectionRE = regexp.MustCompile(`(?m)^-- (.+) --$`)

func parseArchive(b []byte) archive {
	s := string(b)
	idx := sectionRE.FindAllStringSubmatchIndex(s, -1)
	a := archive{}
	if len(idx) == 0 {
		a.comment = s
		return a
	}
	a.comment = s[:idx[0][0]]
	for i, m := range idx {
		end := len(s)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		a.files = append(a.files, archiveFile{name: s[m[2]:m[3]], data: strings.TrimPrefix(s[m[1]:end], "\n")})
	}
	return a
}

func (a archive) get(name string) (string, bool) {
	for _, f := range a.files {
		if f.name == name {
			return f.data, true
		}
	}
	return "", false
}

func (a *archive) set(name, data string) {
	for i, f := range a.files {
		if f.name == name {
			a.files[i].data = data
			return
		}
	}
	a.files = append(a.files, archiveFile{name: name, data: data})
}

func (a archive) bytes() []byte {
	var b bytes.Buffer
	b.WriteString(a.comment)
	for _, f := range a.files {
		b.WriteString("-- " + f.name + " --\n")
		b.WriteString(f.data)
		if !strings.HasSuffix(f.data, "\n") {
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}

func wiretest403() wiretest.Fault {
	return wiretest.Fault{Status: 403, Code: "10000", Message: "Authentication error"}
}
