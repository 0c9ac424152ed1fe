package infra

import (
	"context"
	"errors"
	"github.com/aiflow/aiflow/engine"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const cfProvider = `aiflow: 1
name: infra-test
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("CF_ACCOUNT") }
    api_token: ${ env("CF_TOKEN") }
    base_url: ${ env("CF_BASE") }
`

const noopStep = `steps:
  noop:
    uses: transform
    with:
      expr: 1
`

// actions maps resource name to planned action.
func actions(p *Plan) map[string]string {
	out := map[string]string{}
	for _, c := range p.Resources {
		out[c.Name] = c.Action
	}
	return out
}

func TestApplyAndDestroy(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.write("migrations/001_chunks.sql", "CREATE TABLE chunks (id TEXT PRIMARY KEY, text TEXT);\n")
	h.write("flow.yaml", cfProvider+`resources:
  db: { kind: database, migrations: migrations }
  remote: { kind: database, backend: d1, provider: cf, migrations: migrations }
  kb: { kind: vector-index, dimensions: 8, metric: dot-product }
  gw:
    kind: ai-gateway
    provider: cf
    cache_ttl: 30m
    logging: false
  summarise: { kind: prompt, database: remote, name: summary }
`+noopStep)
	fl := h.flow("flow.yaml")
	p := h.apply(fl)
	want := map[string]string{"db": ActionCreate, "remote": ActionCreate, "kb": ActionCreate, "gw": ActionCreate, "summarise": ActionCreate}
	if diff := cmp.Diff(want, actions(p)); diff != "" {
		t.Fatalf("applied actions (-want +got):\n%s", diff)
	}
	t.Run("real resources exist", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(h.state, "databases", "db.db")); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(filepath.Join(h.state, "indexes", "kb")); err != nil {
			t.Error(err)
		}
		dbs := h.cf.D1().Databases()
		if len(dbs) != 1 || dbs[0].Name != "remote" {
			t.Fatalf("D1 databases = %v", dbs)
		}
		rows, err := h.cf.D1().Query(dbs[0].UUID, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
		if err != nil || len(rows) != 3 || rows[0]["name"] != migrationsTable || rows[1]["name"] != "chunks" || rows[2]["name"] != "prompts" {
			t.Errorf("D1 tables = %v, %v", rows, err)
		}
		gw, ok := h.cf.Gateways().Get("gw")
		if !ok || gw["cache_ttl"] != 1800.0 || gw["collect_logs"] != false {
			t.Errorf("gateway = %v", gw)
		}
	})
	t.Run("state records ids and attributes", func(t *testing.T) {
		rs, err := h.st.GetResource(ctx, "infra-test", "remote")
		if err != nil {
			t.Fatal(err)
		}
		if rs.ID != h.cf.D1().Databases()[0].UUID || rs.Backend != "d1" || rs.Attributes["flow"] != "infra-test" {
			t.Errorf("state = %+v", rs)
		}
		if diff := cmp.Diff([]any{"001_chunks.sql"}, rs.Attributes["migrations"]); diff != "" {
			t.Errorf("migrations attribute (-want +got):\n%s", diff)
		}
		for _, r := range []string{"db", "kb", "gw", "summarise"} {
			if _, err := h.st.GetResource(ctx, "infra-test", r); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("second apply changes nothing", func(t *testing.T) {
		before := h.cf.Count()
		p := h.apply(fl)
		if p.Changes {
			t.Errorf("second apply has changes: %v", actions(p))
		}
		for _, r := range h.cf.Requests()[before:] {
			if r.Method != "GET" && !strings.HasSuffix(r.Path, "/raw") {
				t.Errorf("second apply sent %s %s", r.Method, r.Path)
			}
		}
	})
	t.Run("destroy removes everything", func(t *testing.T) {
		p, err := Destroy(ctx, fl, h.st, h.opts(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, c := range p.Resources {
			order = append(order, c.Name)
		}
		if diff := cmp.Diff([]string{"summarise", "gw", "kb", "remote", "db"}, order); diff != "" {
			t.Errorf("destroy order (-want +got):\n%s", diff)
		}
		if rs, _ := h.st.ListResources(ctx); len(rs) != 0 {
			t.Errorf("state left: %v", rs)
		}
		if n := len(h.cf.D1().Databases()); n != 0 {
			t.Errorf("%d D1 databases left", n)
		}
		if ids := h.cf.Gateways().IDs(); len(ids) != 0 {
			t.Errorf("gateways left: %v", ids)
		}
		for _, p := range []string{"databases/db.db", "indexes/kb"} {
			if _, err := os.Stat(filepath.Join(h.state, p)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: %v", p, err)
			}
		}
		if applied, _ := h.st.AppliedMigrations(ctx, "infra-test", "db"); len(applied) != 0 {
			t.Errorf("migrations still recorded: %v", applied)
		}
	})
}

func TestReplaceKeepsNothingOld(t *testing.T) {
	h := newHarness(t)
	h.write("before.yaml", cfProvider+"resources:\n  kb: { kind: vector-index, dimensions: 4 }\n"+noopStep)
	h.write("flow.yaml", cfProvider+"resources:\n  kb: { kind: vector-index, dimensions: 6 }\n"+noopStep)
	h.apply(h.flow("before.yaml"))
	h.remove("before.yaml") // flow.yaml is the edited before.yaml
	fl := h.flow("flow.yaml")
	if p := h.apply(fl); actions(p)["kb"] != ActionReplace {
		t.Fatalf("actions = %v", actions(p))
	}
	if p := h.plan(fl); p.Changes {
		t.Errorf("after replace: %v", actions(p))
	}
	rs, err := h.st.GetResource(context.Background(), "infra-test", "kb")
	if err != nil || rs.Attributes["dimensions"] != 6.0 {
		t.Errorf("state = %+v, %v", rs, err)
	}
}

func TestAdoptAndCancel(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	if _, err := h.cf.D1().CreateDatabase("remote"); err != nil {
		t.Fatal(err)
	}
	h.write("flow.yaml", cfProvider+"resources:\n  remote: { kind: database, backend: d1, provider: cf }\n"+noopStep)
	fl := h.flow("flow.yaml")
	p, err := Apply(ctx, fl, h.st, h.opts(), func(*Plan) bool { return false })
	if !errors.Is(err, ErrCancelled) || actions(p)["remote"] != ActionAdopt {
		t.Fatalf("Apply = %v, %v", actions(p), err)
	}
	if rs, _ := h.st.ListResources(ctx); len(rs) != 0 {
		t.Errorf("a cancelled apply recorded %v", rs)
	}
	h.apply(fl)
	rs, err := h.st.GetResource(ctx, "infra-test", "remote")
	if err != nil || rs.ID != h.cf.D1().Databases()[0].UUID {
		t.Errorf("adopted state = %+v, %v", rs, err)
	}
	if n := len(h.cf.D1().Databases()); n != 1 {
		t.Errorf("adopting created a database: %d", n)
	}
}

// TestFlowsShareState: two flows in one folder each have their own records. A remote
// kb of one is planned against its own (absent) record, not replaced because of the
// other's local kb; a local kb that would share the other's directory is refused by
// name; destroy removes only the flow's own records.
func TestFlowsShareState(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.write("a.yaml", strings.Replace(cfProvider, "infra-test", "a", 1)+"resources:\n  kb: { kind: vector-index, dimensions: 4 }\n  db: { kind: database }\n"+noopStep)
	h.write("b.yaml", strings.Replace(cfProvider, "infra-test", "b", 1)+"resources:\n  kb: { kind: vector-index, backend: vectorize, provider: cf, dimensions: 8 }\n"+noopStep)
	h.write("c.yaml", strings.Replace(cfProvider, "infra-test", "c", 1)+"resources:\n  kb: { kind: vector-index, dimensions: 4 }\n"+noopStep)
	h.apply(h.flow("a.yaml"))
	b := h.flow("b.yaml")
	if diff := cmp.Diff(map[string]string{"kb": ActionCreate}, actions(h.plan(b))); diff != "" {
		t.Errorf("flow b planned against flow a's kb (-want +got):\n%s", diff)
	}
	h.apply(b)
	for flow, backend := range map[string]string{"a": "local", "b": "vectorize"} {
		rs, err := h.st.GetResource(ctx, flow, "kb")
		if err != nil || rs.Backend != backend {
			t.Errorf("record of %s's kb = %+v, %v; want backend %s", flow, rs, err, backend)
		}
	}
	for _, f := range []string{"a.yaml", "b.yaml"} {
		if p := h.plan(h.flow(f)); p.Changes {
			t.Errorf("%s after both applied: %v", f, actions(p))
		}
	}
	_, err := NewPlan(ctx, h.flow("c.yaml"), h.st, h.opts())
	if err == nil || !strings.Contains(err.Error(), `recorded for flow "a"`) {
		t.Errorf("flow c's local kb would share flow a's directory: err = %v", err)
	}
	if _, err := Destroy(ctx, b, h.st, h.opts(), nil); err != nil {
		t.Fatal(err)
	}
	if p := h.plan(h.flow("a.yaml")); p.Changes {
		t.Errorf("destroying b changed a: %v", actions(p))
	}
}

// TestSameNameInOneFolder: two flow files of one folder with the same name: would
// share their records, so planning the second one fails and says why.
func TestSameNameInOneFolder(t *testing.T) {
	h := newHarness(t)
	h.write("a.yaml", cfProvider+"resources:\n  db: { kind: database }\n"+noopStep)
	h.write("b.yaml", cfProvider+"resources:\n  db: { kind: database }\n"+noopStep)
	h.apply(h.flow("a.yaml"))
	_, err := NewPlan(context.Background(), h.flow("b.yaml"), h.st, h.opts())
	if err == nil || !strings.Contains(err.Error(), `flows b.yaml and a.yaml share the state directory`) || !strings.Contains(err.Error(), `both named "infra-test"`) {
		t.Errorf("err = %v", err)
	}
	h.remove("a.yaml") // renamed: b.yaml takes the records over
	if p := h.plan(h.flow("b.yaml")); p.Changes {
		t.Errorf("after the rename: %v", actions(p))
	}
}

// TestClaimsUnownedRecords: a record an older aiflow left without an owner is the
// plan's as it is, and is taken by the flow that next applies its name; the plan
// itself writes nothing.
func TestClaimsUnownedRecords(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.write("flow.yaml", cfProvider+"resources:\n  db: { kind: database }\n"+noopStep)
	fl := h.flow("flow.yaml")
	h.apply(fl)
	rs, err := h.st.GetResource(ctx, "infra-test", "db")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.st.ClaimResource(ctx, "infra-test", "", "db"); err != nil { // as the schema upgrade leaves it
		t.Fatal(err)
	}
	if p := h.plan(fl); p.Changes {
		t.Errorf("plan of an unowned record: %v", actions(p))
	}
	if _, err := h.st.GetResource(ctx, "", "db"); err != nil {
		t.Errorf("the plan changed the unowned record: %v", err)
	}
	if p := h.apply(fl); p.Changes {
		t.Errorf("apply of an unowned record: %v", actions(p))
	}
	got, err := h.st.GetResource(ctx, "infra-test", "db")
	if err != nil || got.ID != rs.ID {
		t.Errorf("record after the apply = %+v, %v", got, err)
	}
}

func TestErrorsAreRedacted(t *testing.T) {
	h := newHarness(t)
	h.write("flow.yaml", cfProvider+"resources:\n  remote: { kind: database, backend: d1, provider: cf }\n"+noopStep)
	h.cf.Faults.Add(wiretest403())
	_, err := NewPlan(context.Background(), h.flow("flow.yaml"), h.st, h.opts())
	if err == nil || strings.Contains(err.Error(), h.cf.Token()) || strings.Contains(err.Error(), h.cf.Account()) {
		t.Errorf("error = %v", err)
	}
}

func TestBadSettings(t *testing.T) {
	tests := []struct {
		name, resources, want string
	}{
		{"d1 without provider", "  db: { kind: database, backend: d1 }", "backend d1 needs provider:"},
		{"unknown database backend", "  db: { kind: database, backend: postgres }", `database backend "postgres" is not available`},
		{"gateway without provider", "  gw: { kind: ai-gateway }", "set provider: to a workers-ai provider"},
		{"bad cache ttl", "  gw: { kind: ai-gateway, provider: cf, cache_ttl: soon }", "cache_ttl: want a duration"},
		{"bad rate limit", "  gw: { kind: ai-gateway, provider: cf, rate_limit: { limit: 0 } }", "rate_limit.limit"},
		{"prompt without database", "  p: { kind: prompt }", "set database:"},
		{"prompt on an index", "  kb: { kind: vector-index, dimensions: 4 }\n  p: { kind: prompt, database: kb }", `"kb" is not a database resource`},
		{"missing migrations folder", "  db: { kind: database, migrations: nowhere }", "migrations: open"},
		{"provider of another kind", "  db: { kind: database, backend: d1, provider: local }", "Cloudflare resources need a workers-ai one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.write("flow.yaml", cfProvider+"resources:\n"+tt.resources+"\n"+noopStep)
			_, err := NewPlan(context.Background(), h.flow("flow.yaml"), h.st, h.opts())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want …%s…", err, tt.want)
			}
		})
	}
}

// TestOpenDatabase opens an applied database as a step would.
func TestOpenDatabase(t *testing.T) {
	ctx := context.Background()
	for _, backend := range []string{"local", "d1"} {
		t.Run(backend, func(t *testing.T) {
			h := newHarness(t)
			// An INTEGER column: D1 receives parameters as strings, and the column's
			// affinity makes "7" the integer 7 again on both backends.
			h.write("m/001.sql", "CREATE TABLE t (x INTEGER);")
			h.write("flow.yaml", cfProvider+"resources:\n  db: { kind: database, backend: "+backend+", provider: cf, migrations: m }\n"+noopStep)
			fl := h.flow("flow.yaml")
			if _, err := OpenDatabase(ctx, fl, h.st, h.opts(), "db"); err == nil || !strings.Contains(err.Error(), "run aiflow apply") {
				t.Errorf("before apply: %v", err)
			}
			h.apply(fl)
			db, err := OpenDatabase(ctx, fl, h.st, h.opts(), "db")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Query(ctx, "INSERT INTO t VALUES (?)", []any{7}); err != nil {
				t.Fatal(err)
			}
			res, err := db.Query(ctx, "SELECT x FROM t", nil)
			if err != nil || !cmp.Equal(res.Rows, [][]any{{int64(7)}}) {
				t.Errorf("rows = %v, %v", res.Rows, err)
			}
		})
	}
}

func TestVarsInSettings(t *testing.T) {
	h := newHarness(t)
	h.write("flow.yaml", cfProvider+`vars:
  dims: { type: integer, default: 16 }
resources:
  kb:
    kind: vector-index
    dimensions: ${ vars.dims }
`+noopStep)
	fl := h.flow("flow.yaml")
	tests := []struct {
		name string
		vars map[string]any
		want any
		err  string
	}{
		{"default", nil, 16.0, ""},
		{"from the command line", map[string]any{"dims": "32"}, 32.0, ""},
		{"not an integer", map[string]any{"dims": "many"}, nil, `resource "kb": dimensions must be a positive integer, got many`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := h.opts()
			opts.Vars = tt.vars
			p, err := NewPlan(context.Background(), fl, h.st, opts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got any
			for _, a := range p.Resources[0].Attributes {
				if a.Name == "dimensions" {
					got = norm(a.After)
				}
			}
			if got != tt.want {
				t.Errorf("dimensions = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCheckRecordsLocalResources: the check before a run creates a missing local index
// and records it, and records a local index made by an older run without a record, so
// that the next plan has nothing to do (it used to say "will be adopted").
func TestCheckRecordsLocalResources(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, h *harness, fl *engine.Flow)
	}{
		{"missing index", func(*testing.T, *harness, *engine.Flow) {}},
		{"index made by an older run", func(t *testing.T, h *harness, fl *engine.Flow) {
			h.apply(fl)
			if err := h.st.DeleteResource(ctx, "infra-test", "kb"); err != nil {
				t.Fatal(err)
			}
			if a := actions(h.plan(fl))["kb"]; a != ActionAdopt {
				t.Fatalf("setup: kb %s, want adopt", a)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.write("flow.yaml", cfProvider+"resources:\n  kb: { kind: vector-index, dimensions: 4 }\n"+noopStep)
			fl := h.flow("flow.yaml")
			tt.setup(t, h, fl)
			if err := Check(ctx, fl, h.st, h.opts()); err != nil {
				t.Fatal(err)
			}
			if p := h.plan(fl); p.Changes {
				t.Errorf("plan after the check: %v", actions(p))
			}
			if rs, err := h.st.GetResource(ctx, "infra-test", "kb"); err != nil || rs.ID != "indexes/kb" {
				t.Errorf("record = %+v, %v", rs, err)
			}
		})
	}
}
