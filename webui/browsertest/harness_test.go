package browsertest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/internal/testbin"
)

// harnessPage serves pages of the harness's own tests: / sets data-ready after a
// delay, drawing its nodes in the same task, and /broken throws, logs an error and
// fetches a missing file.
func harnessServer(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html><head><title>t</title><link rel="icon" href="data:,"></head>
<body><svg id="dag"></svg><script>
setTimeout(() => {
  const dag = document.getElementById("dag");
  for (let i = 0; i < 3; i++) {
    const g = document.createElementNS("http://www.w3.org/2000/svg", "g");
    g.setAttribute("class", "node");
    dag.appendChild(g);
  }
  document.body.dataset.view = "run";
  document.body.dataset.ready = "1";
}, 150);
</script></body></html>`))
	})
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html><head><link rel="icon" href="data:,"></head><body><script>
console.error("boom from console");
fetch("/missing.json").then(() => { document.body.dataset.view = "runs"; document.body.dataset.ready = "1"; });
null.nothing;
</script></body></html>`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestHarnessWaitsForReady checks that open returns only once the page says it is
// ready, so counts taken after it see what the page drew.
func TestHarnessWaitsForReady(t *testing.T) {
	p := newPage(t, harnessServer(t))
	took := p.open("#/", "run")
	if n := p.count("#dag g.node"); n != 3 {
		t.Errorf("%d nodes after open, want the 3 drawn with data-ready", n)
	}
	if took <= 0 {
		t.Errorf("time to ready = %s, want the page's measurement", took)
	}
	p.screenshot("ready")
	shots, _ := filepath.Glob(filepath.Join(p.dir, "*-ready.png"))
	if len(shots) != 1 {
		t.Fatalf("screenshots %v, want one named after the checkpoint", shots)
	}
	if b, err := os.ReadFile(shots[0]); err != nil || !strings.HasPrefix(string(b), "\x89PNG") {
		t.Errorf("screenshot %s is not a PNG (%v)", shots[0], err)
	}
}

// TestHarnessRecordsPageErrors checks that the errors a test must fail for are seen:
// an uncaught exception, a console.error and a request answered 404.
func TestHarnessRecordsPageErrors(t *testing.T) {
	p := newPage(t, harnessServer(t))
	p.open("broken", "runs")
	p.mu.Lock()
	got := strings.Join(p.problems, "\n")
	p.problems = nil // seen: the test passes when all three are there
	p.mu.Unlock()
	for _, want := range []string{"uncaught exception", "console.error: boom from console", "HTTP 404 for " + p.base + "/missing.json"} {
		if !strings.Contains(got, want) {
			t.Errorf("page problems:\n%s\nwant one with %q", got, want)
		}
	}
}

// TestBinaryHasNoChromedp checks that the browser driver stays a test-only dependency:
// the aiflow binary links neither chromedp nor its protocol package.
func TestBinaryHasNoChromedp(t *testing.T) {
	bin := aiflowBinary(t)
	out, err := exec.Command(testbin.GoTool(), "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/aiflow/aiflow") {
		t.Fatalf("go version -m printed no module information:\n%s", out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "github.com/chromedp/") {
			t.Errorf("the aiflow binary links %s", strings.TrimSpace(line))
		}
	}
}
