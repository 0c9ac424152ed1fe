package infra

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPromptVersions drives a prompt resource that carries its content (system, model,
// params): settings the engine does not accept in flow files yet, so the resource is
// built here from evaluated settings.
func TestPromptVersions(t *testing.T) {
	for _, backend := range []string{"local", "d1"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t)
			h.write("flow.yaml", cfProvider+"resources:\n  db: { kind: database, backend: "+backend+", provider: cf }\n  summarise: { kind: prompt, database: db }\n"+noopStep)
			fl := h.flow("flow.yaml")
			h.apply(fl)
			if _, err := ActivePrompt(ctx, fl, h.st, h.opts(), "summarise"); err == nil || !strings.Contains(err.Error(), "no active version") {
				t.Fatalf("before any version: %v", err)
			}
			step := func(system string, params map[string]any) *Change {
				t.Helper()
				e, err := newEnv(fl, h.st, h.opts())
				if err != nil {
					t.Fatal(err)
				}
				defer e.close()
				r := &resource{name: "summarise", kind: "prompt", k: promptKind{}, attrs: map[string]any{},
					settings: map[string]any{"database": map[string]any{"name": "db"}, "system": system, "model": "fast", "params": params}}
				if err := r.k.desired(e, r); err != nil {
					t.Fatal(err)
				}
				for k, v := range r.attrs {
					r.attrs[k] = norm(v)
				}
				st, err := e.stateOf(ctx, "summarise")
				if err != nil {
					t.Fatal(err)
				}
				c, err := e.planEvaluated(ctx, r, st)
				if err != nil {
					t.Fatal(err)
				}
				if err := e.execute(ctx, c); err != nil {
					t.Fatal(err)
				}
				return c
			}
			c := step("You summarise.", map[string]any{"temperature": 0})
			if c.Action != ActionUpdate {
				t.Errorf("first content: %s %v", c.Action, c.Attributes)
			}
			p, err := ActivePrompt(ctx, fl, h.st, h.opts(), "summarise")
			want := Prompt{Name: "summarise", Version: 1, System: "You summarise.", Model: "fast", Params: map[string]any{"temperature": 0.0}}
			if err != nil || !cmp.Equal(want, p) {
				t.Errorf("version 1 = %+v, %v", p, err)
			}
			if c := step("You summarise.", map[string]any{"temperature": 0}); c.Action != ActionNoop {
				t.Errorf("same content: %s %v", c.Action, c.Attributes)
			}
			c = step("You summarise briefly.", map[string]any{"temperature": 0})
			if c.Action != ActionUpdate || len(c.Attributes) != 1 || c.Attributes[0].Name != "system" {
				t.Errorf("new system prompt: %s %+v", c.Action, c.Attributes)
			}
			p, err = ActivePrompt(ctx, fl, h.st, h.opts(), "summarise")
			if err != nil || p.Version != 2 || p.System != "You summarise briefly." {
				t.Errorf("version 2 = %+v, %v", p, err)
			}
			if err := Check(ctx, fl, h.st, h.opts()); err != nil {
				t.Errorf("Check with an active version: %v", err)
			}
			if _, err := Destroy(ctx, fl, h.st, h.opts(), nil); err != nil {
				t.Fatal(err)
			}
			if rs, _ := h.st.ListResources(ctx); len(rs) != 0 {
				t.Errorf("state left: %v", rs)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.write("flow.yaml", cfProvider+`resources:
  kb: { kind: vector-index, dimensions: 4 }
  db: { kind: database }
  gw: { kind: ai-gateway, provider: cf, cache_ttl: 1h }
  summarise: { kind: prompt, database: db }
`+noopStep)
	fl := h.flow("flow.yaml")
	err := Check(ctx, fl, h.st, h.opts())
	var se *StaleError
	if !asStale(err, &se) {
		t.Fatalf("before apply: %v", err)
	}
	var names []string
	for _, c := range se.Changes {
		names = append(names, c.Name)
	}
	if diff := cmp.Diff([]string{"db", "gw", "summarise"}, names); diff != "" {
		t.Errorf("stale resources (the local index is created on first use) (-want +got):\n%s", diff)
	}
	if !strings.HasSuffix(err.Error(), "\nrun aiflow apply") || !strings.Contains(err.Error(), "+ db (database) will be created") {
		t.Errorf("message:\n%s", err)
	}
	h.apply(fl)
	err = Check(ctx, fl, h.st, h.opts())
	if !asStale(err, &se) || len(se.Changes) != 0 || len(se.Problems) != 1 || !strings.Contains(se.Problems[0], "no active version") {
		t.Fatalf("without a prompt version: %v", err)
	}
	db, err := OpenDatabase(ctx, fl, h.st, h.opts(), "db")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Query(ctx, "INSERT INTO prompts (name, version, system, model, params, active) VALUES ('summarise', 1, 'S', 'm', '{}', 1)", nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := Check(ctx, fl, h.st, h.opts()); err != nil {
		t.Errorf("after seeding a version: %v", err)
	}
	got, err := Prompts(ctx, fl, h.st, h.opts())
	want := map[string]map[string]any{"summarise": {"name": "summarise", "version": 1, "system": "S", "model": "m", "params": map[string]any{}}}
	if err != nil || !cmp.Equal(want, got) {
		t.Errorf("Prompts = %v, %v", got, err)
	}
	h.cf.Gateways().Set("gw", map[string]any{"cache_ttl": 5.0})
	if err := Check(ctx, fl, h.st, h.opts()); err == nil || !strings.Contains(err.Error(), "~ gw (ai-gateway) will be updated in place (changed outside aiflow)") {
		t.Errorf("after drift: %v", err)
	}
}

func asStale(err error, se **StaleError) bool {
	s, ok := err.(*StaleError)
	*se = s
	return ok
}

// TestInsertVersionValues: a version's settings reach the database unchanged, whatever
// characters they hold, now that they travel as SQL literals in one script.
func TestInsertVersionValues(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.write("flow.yaml", cfProvider+"resources:\n  db: { kind: database }\n  p: { kind: prompt, database: db }\n"+noopStep)
	fl := h.flow("flow.yaml")
	h.apply(fl)
	db, err := OpenDatabase(ctx, fl, h.st, h.opts(), "db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tests := []struct {
		name  string
		attrs map[string]any
		want  Prompt
		err   string
	}{
		{"quotes and semicolons", map[string]any{"system": "it's; DROP TABLE prompts; --", "model": "m", "params": map[string]any{"k": "v'"}},
			Prompt{Name: "p", Version: 1, System: "it's; DROP TABLE prompts; --", Model: "m", Params: map[string]any{"k": "v'"}}, ""},
		{"NUL and newlines", map[string]any{"system": "a\x00b\nc", "model": nil},
			Prompt{Name: "p", Version: 2, System: "a\x00b\nc", Params: map[string]any{}}, ""},
		{"not text", map[string]any{"system": []any{1}}, Prompt{}, "want text, a number or nothing"},
		{"NaN", map[string]any{"system": math.NaN()}, Prompt{}, "want text, a number or nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := insertVersion(ctx, db, "p", tt.attrs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("insertVersion = %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := activeVersion(ctx, db, "p")
			if err != nil || !ok || !cmp.Equal(tt.want, got) {
				t.Errorf("active version = %+v, %v, %v; want %+v", got, ok, err, tt.want)
			}
		})
	}
}
