package infra

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// The child process of TestKillDuringPromptVersion inserts prompt versions into the
// database of the flow in promptKillDir, against the Cloudflare emulator at
// killChildBase, until it is killed.
const (
	promptKillDir      = "AIFLOW_INFRA_PROMPT_KILL_DIR"
	promptKillTrials   = 20
	promptKillVersions = 5000 // the child's cap, should the kill never come
)

// TestPromptKillChild is not a test on its own: TestKillDuringPromptVersion runs the
// test binary with -test.run=^TestPromptKillChild$ as the process it kills.
func TestPromptKillChild(t *testing.T) {
	dir := os.Getenv(promptKillDir)
	if dir == "" {
		t.Skip("the child process of TestKillDuringPromptVersion")
	}
	ctx := context.Background()
	fl, st, opts := killEnv(t, dir, os.Getenv(killChildBase))
	db, err := OpenDatabase(ctx, fl, st, opts, "db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range promptKillVersions {
		if err := insertVersion(ctx, db, "p", map[string]any{"system": fmt.Sprint("version ", i), "model": "m"}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKillDuringPromptVersion kills (kill -9) a process while it adds prompt versions
// and checks that the prompt still has exactly one active version: deactivating the old
// version and inserting the new one commit together.
func TestKillDuringPromptVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 40 processes")
	}
	for _, backend := range []string{"local", "d1"} {
		t.Run(backend, func(t *testing.T) {
			for trial := range promptKillTrials {
				ctx := context.Background()
				cf := wiretest.NewCloudflare(t)
				dir := t.TempDir()
				flow := cfProvider + "resources:\n  db: { kind: database, backend: " + backend + ", provider: cf }\n  p: { kind: prompt, database: db }\n" + noopStep
				if err := os.WriteFile(filepath.Join(dir, "flow.yaml"), []byte(flow), 0o644); err != nil {
					t.Fatal(err)
				}
				fl, st, opts := killEnv(t, dir, cf.APIBase())
				if _, err := Apply(ctx, fl, st, opts, nil); err != nil {
					t.Fatal(err)
				}
				db, err := OpenDatabase(ctx, fl, st, opts, "db")
				if err != nil {
					t.Fatal(err)
				}
				c := &child{cmd: exec.Command(os.Args[0], "-test.run=^TestPromptKillChild$", "-test.count=1"), done: make(chan struct{})}
				c.cmd.Env = append(os.Environ(), promptKillDir+"="+dir, killChildBase+"="+cf.APIBase())
				c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
				if err := c.cmd.Start(); err != nil {
					t.Fatal(err)
				}
				go func() {
					c.err = c.cmd.Wait()
					close(c.done)
				}()
				versions := waitForVersion(t, c, db)
				delay := rand.N(20 * time.Millisecond)
				time.Sleep(delay)
				c.cmd.Process.Kill()
				c.wait()
				if versions == 0 {
					t.Fatalf("trial %d: the child ended before adding a version:\n%s", trial, c.out.String())
				}
				res, err := db.Query(ctx, `SELECT count(*), sum(active) FROM prompts WHERE name = 'p'`, nil)
				db.Close()
				if err != nil {
					t.Fatalf("trial %d: %v", trial, err)
				}
				if n, active := res.Rows[0][0], res.Rows[0][1]; active != int64(1) {
					t.Fatalf("trial %d (killed %v after the first version): %v versions, %v active; want exactly 1 active", trial, delay, n, active)
				}
			}
		})
	}
}

// waitForVersion returns how many versions the prompt has once it has one, or once the
// child has ended.
func waitForVersion(t *testing.T, c *child, db providers.Database) int64 {
	t.Helper()
	for {
		res, err := db.Query(context.Background(), `SELECT count(*) FROM prompts WHERE name = 'p'`, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.Rows[0][0].(int64); n > 0 {
			return n
		}
		select {
		case <-c.done:
			return 0
		case <-time.After(200 * time.Microsecond):
		}
	}
}
