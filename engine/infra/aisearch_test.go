package infra

import (
	"context"
	"net/http"
	"strings"
	"testing"

	_ "github.com/aiflow/aiflow/providers/aisearch"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestAISearchIndex: an ai-search vector-index is an existing instance. Apply fails,
// naming the instance, while it does not exist; once it does, apply adopts it, a second
// plan has no changes, and destroy leaves the instance in place.
func TestAISearchIndex(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.write("f.yaml", cfProvider+"resources:\n  docs:\n    kind: vector-index\n    backend: ai-search\n    provider: cf\n"+noopStep)
	fl := h.flow("f.yaml")
	if _, err := Apply(ctx, fl, h.st, h.opts(), nil); err == nil || !strings.Contains(err.Error(), `ai-search instance "docs" does not exist`) {
		t.Fatalf("apply without the instance: %v", err)
	}
	h.cf.AISearch().AddInstance("docs", wiretest.AISearchDoc{Key: "a.md", Text: "alpha"})
	if p := h.apply(fl); actions(p)["docs"] != ActionAdopt && actions(p)["docs"] != ActionCreate {
		t.Fatalf("apply: %v", actions(p))
	}
	if p := h.plan(fl); p.Changes {
		t.Errorf("plan after apply: %v", actions(p))
	}
	if _, err := Destroy(ctx, fl, h.st, h.opts(), nil); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", h.cf.APIBase()+"/accounts/"+h.cf.Account()+"/ai-search/instances/docs", nil)
	req.Header.Set("Authorization", "Bearer "+h.cf.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after destroy, GET instance = %d: destroy deleted an AI Search instance aiflow does not own", resp.StatusCode)
	}
	for _, r := range h.cf.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("%s %s: aiflow only reads an AI Search instance", r.Method, r.Path)
		}
	}
}

// TestAISearchPlanNeverCreates: aiflow never creates an AI Search instance, so plan
// offers to adopt it (apply checks that it exists and records it) whether or not it was
// found or refreshed, and says so when it was not found; it is never "will be created".
func TestAISearchPlanNeverCreates(t *testing.T) {
	tests := []struct {
		name       string
		exists     bool
		noRefresh  bool
		wantReason string
	}{
		{"missing", false, false, "not found"},
		{"not refreshed", false, true, "apply checks that it exists"},
		{"exists", true, false, "exists but is not in state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.write("f.yaml", cfProvider+"resources:\n  docs:\n    kind: vector-index\n    backend: ai-search\n    provider: cf\n"+noopStep)
			if tt.exists {
				h.cf.AISearch().AddInstance("docs", wiretest.AISearchDoc{Key: "a.md", Text: "alpha"})
			}
			opts := h.opts()
			opts.NoRefresh = tt.noRefresh
			p, err := NewPlan(context.Background(), h.flow("f.yaml"), h.st, opts)
			if err != nil {
				t.Fatal(err)
			}
			c := p.Resources[0]
			if c.Action != ActionAdopt || !strings.Contains(c.Reason, tt.wantReason) {
				t.Errorf("action %q, reason %q; want %q with a reason saying %q", c.Action, c.Reason, ActionAdopt, tt.wantReason)
			}
			var out strings.Builder
			Render(&out, p)
			if strings.Contains(out.String(), "will be created") || strings.Contains(out.String(), "to create") {
				t.Errorf("plan says the instance will be created:\n%s", out.String())
			}
		})
	}
}

// TestAISearchCheckMissing: a run on a flow whose AI Search instance does not exist
// stops before it starts, saying the instance was not found and is made outside aiflow.
func TestAISearchCheckMissing(t *testing.T) {
	h := newHarness(t)
	h.write("f.yaml", cfProvider+"resources:\n  docs:\n    kind: vector-index\n    backend: ai-search\n    provider: cf\n"+noopStep)
	err := Check(context.Background(), h.flow("f.yaml"), h.st, h.opts())
	if err == nil || !strings.Contains(err.Error(), "docs (vector-index) is managed outside aiflow and not found") {
		t.Fatalf("check: %v", err)
	}
}
