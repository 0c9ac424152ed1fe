package infra

import (
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden sections of testdata/plan/*.txt")

// mutations change real state between applying before.yaml and planning flow.yaml, as
// someone outside aiflow would.
var mutations = map[string]func(t *testing.T, h *harness){
	"norefresh": func(t *testing.T, h *harness) {
		if !h.cf.Gateways().Set("gw", map[string]any{"cache_ttl": 60.0}) {
			t.Fatal("gateway gw was not created")
		}
		if err := os.Remove(filepath.Join(h.state, "databases", "db.db")); err != nil {
			t.Fatal(err)
		}
	},
	"drift": func(t *testing.T, h *harness) {
		if !h.cf.Gateways().Set("gw", map[string]any{"cache_ttl": 60.0, "collect_logs": false}) {
			t.Fatal("gateway gw was not created")
		}
		if err := os.Remove(filepath.Join(h.state, "databases", "db.db")); err != nil {
			t.Fatal(err)
		}
		for _, d := range h.cf.D1().Databases() {
			h.cf.D1().DeleteDatabase(d.UUID)
		}
	},
}

// planOptions change how a scenario's flow.yaml is planned.
var planOptions = map[string]func(t *testing.T, o Options) Options{
	"offline": func(t *testing.T, o Options) Options {
		o.HTTPClient = closedPortClient(t)
		return o
	},
	"norefresh": func(t *testing.T, o Options) Options {
		o.HTTPClient = closedPortClient(t) // -refresh=false must not need the network
		o.NoRefresh = true
		return o
	},
}

// closedPortClient is an HTTP client whose every connection goes to a closed loopback port:
// refused at once, as offline but without waiting.
func closedPortClient(t *testing.T) *http.Client {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
}

// TestPlanGolden applies before.yaml (when there is one), applies a scenario's
// mutation, plans flow.yaml, and compares the human and JSON renderings with the
// golden sections of testdata/plan/<scenario>.txt; -update rewrites them.
func TestPlanGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/plan/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			a := parseArchive(b)
			h := newHarness(t)
			for _, f := range a.files {
				if !strings.HasSuffix(f.name, ".golden") {
					h.write(f.name, f.data)
				}
			}
			if _, ok := a.get("before.yaml"); ok {
				h.apply(h.flow("before.yaml"))
				h.remove("before.yaml") // flow.yaml is the edited before.yaml
			}
			if m := mutations[name]; m != nil {
				m(t, h)
			}
			opts := h.opts()
			if o := planOptions[name]; o != nil {
				opts = o(t, opts)
			}
			p, err := NewPlan(context.Background(), h.flow("flow.yaml"), h.st, opts)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			var human strings.Builder
			Render(&human, p)
			js, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{"plan.golden": scrub(human.String()), "plan.json.golden": scrub(strings.ReplaceAll(string(js), h.dir, "$DIR")) + "\n"}
			if *update {
				for k, v := range got {
					a.set(k, v)
				}
				if err := os.WriteFile(file, a.bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, k := range []string{"plan.golden", "plan.json.golden"} {
				want, _ := a.get(k)
				if diff := cmp.Diff(want, got[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
		})
	}
}

var (
	uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	portRE = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
)

// scrub replaces the emulator's random D1 uuids and loopback ports.
func scrub(s string) string {
	return portRE.ReplaceAllString(uuidRE.ReplaceAllString(s, "<uuid>"), "127.0.0.1:<port>")
}
