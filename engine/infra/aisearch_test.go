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
