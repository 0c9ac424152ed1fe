package infra

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/testfiles"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// The child process of TestKillDuringApply applies the flow of the directory named by
// killChildDir against the Cloudflare emulator at killChildBase.
const (
	killChildDir  = "AIFLOW_INFRA_KILL_DIR"
	killChildBase = "AIFLOW_INFRA_KILL_CF_BASE"
	killTrials    = 40
)

// killRows is how many migrations, each inserting one row, the flow has: enough that
// most kills land while they run, few enough on D1 to stay within the burst of its
// client's rate limit (20 requests).
var killRows = map[string]int{"local": 24, "d1": 8}

// TestKillChild is not a test on its own: TestKillDuringApply runs the test binary with
// -test.run=^TestKillChild$ as the aiflow apply it kills.
func TestKillChild(t *testing.T) {
	dir := os.Getenv(killChildDir)
	if dir == "" {
		t.Skip("the child process of TestKillDuringApply")
	}
	fl, st, opts := killEnv(t, dir, os.Getenv(killChildBase))
	if _, err := Apply(context.Background(), fl, st, opts, nil); err != nil {
		t.Fatal(err)
	}
}

// killEnv compiles the flow of dir and opens its state.
func killEnv(t *testing.T, dir, base string) (*engine.Flow, *store.Store, Options) {
	t.Helper()
	lookup := func(name string) (string, bool) {
		switch name {
		case "CF_ACCOUNT":
			return wiretest.CloudflareAccount, true
		case "CF_TOKEN":
			return wiretest.CloudflareToken, true
		case "CF_BASE":
			return base, true
		}
		return "", false
	}
	fl := compileFlow(t, filepath.Join(dir, "flow.yaml"), engine.Options{LookupEnv: lookup})
	st, state := openState(t, dir)
	return fl, st, Options{StateDir: state, HTTPClient: &http.Client{}, Retry: providers.RetryPolicy{Attempts: 2, Backoff: 1, MaxBackoff: 1}}
}

// TestKillDuringApply kills `apply` (kill -9) at random moments while it runs migrations
// that insert rows, re-runs it, and checks that every migration ran exactly once: a
// migration and its record commit together in the database, so no kill can separate
// them.
func TestKillDuringApply(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 80 processes")
	}
	for _, backend := range []string{"local", "d1"} {
		t.Run(backend, func(t *testing.T) {
			// The kills land while migrations run: after the database appears, within as
			// long as one uninterrupted apply takes from there to its end.
			cf := wiretest.NewCloudflare(t)
			dir := killDir(t, backend)
			child := startChild(t, "TestKillChild", killChildDir+"="+dir, killChildBase+"="+cf.APIBase())
			child.waitForDatabase(backend, dir, cf)
			start := time.Now()
			if err := child.wait(); err != nil {
				t.Fatalf("uninterrupted apply: %v\n%s", err, child.out.String())
			}
			span := max(time.Since(start), time.Millisecond)
			for trial := range killTrials {
				cf := wiretest.NewCloudflare(t)
				dir := killDir(t, backend)
				child := startChild(t, "TestKillChild", killChildDir+"="+dir, killChildBase+"="+cf.APIBase())
				child.waitForDatabase(backend, dir, cf)
				delay := rand.N(span)
				time.Sleep(delay)
				child.cmd.Process.Kill()
				child.wait()

				ctx := context.Background()
				fl, st, opts := killEnv(t, dir, cf.APIBase())
				if _, err := Apply(ctx, fl, st, opts, nil); err != nil {
					t.Fatalf("trial %d: apply after the kill: %v", trial, err)
				}
				db, err := OpenDatabase(ctx, fl, st, opts, "db")
				if err != nil {
					t.Fatalf("trial %d: %v", trial, err)
				}
				res, err := db.Query(ctx, "SELECT name, count(*) FROM log GROUP BY name ORDER BY name", nil)
				db.Close()
				if err != nil {
					t.Fatalf("trial %d: %v", trial, err)
				}
				var dups []string
				for _, r := range res.Rows {
					if r[1] != int64(1) {
						dups = append(dups, fmt.Sprintf("%v ×%v", r[0], r[1]))
					}
				}
				if len(dups) > 0 || len(res.Rows) != killRows[backend] {
					t.Fatalf("trial %d (killed after %v of ~%v): %d distinct rows, want %d; duplicated: %s",
						trial, delay, span, len(res.Rows), killRows[backend], strings.Join(dups, ", "))
				}
			}
		})
	}
}

// killDir writes a flow whose database has killRows migrations, each inserting a row.
func killDir(t *testing.T, backend string) string {
	t.Helper()
	dir := t.TempDir()
	flow := cfProvider + "resources:\n  db: { kind: database, backend: " + backend + ", provider: cf, migrations: migrations }\n" + noopStep
	files := map[string]string{"flow.yaml": flow, "migrations/000_log.sql": "CREATE TABLE log (n INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);\n"}
	for i := 1; i <= killRows[backend]; i++ {
		files[fmt.Sprintf("migrations/%03d_row.sql", i)] = fmt.Sprintf("INSERT INTO log (name) VALUES ('%03d');\n", i)
	}
	testfiles.Write(t, dir, files)
	return dir
}

// waitForDatabase returns once the child has created the database, or has ended.
func (c *child) waitForDatabase(backend, dir string, cf *wiretest.Cloudflare) {
	for {
		switch {
		case backend == "local":
			if _, err := os.Stat(filepath.Join(dir, ".aiflow", "databases", "db.db")); err == nil {
				return
			}
		case len(cf.D1().Databases()) > 0:
			return
		}
		select {
		case <-c.done:
			return
		case <-time.After(200 * time.Microsecond):
		}
	}
}
