package infra

import (
	"encoding/json"
	"flag"
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
			}
			if m := mutations[name]; m != nil {
				m(t, h)
			}
			p := h.plan(h.flow("flow.yaml"))
			var human strings.Builder
			Render(&human, p)
			js, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{"plan.golden": human.String(), "plan.json.golden": scrub(strings.ReplaceAll(string(js), h.dir, "$DIR")) + "\n"}
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

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// scrub replaces the emulator's random D1 uuids.
func scrub(s string) string { return uuidRE.ReplaceAllString(s, "<uuid>") }
