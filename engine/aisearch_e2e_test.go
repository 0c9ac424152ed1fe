package engine_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestAISearchExampleOnEmulator runs examples/flows/ai-search.yaml against the AI Search
// emulator: the search step sends the question as text with its options (nothing is
// embedded), the ai-search step gets an answer with its sources, and the folder filter
// reaches both requests.
func TestAISearchExampleOnEmulator(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.AISearch().AddInstance("docs",
		wiretest.AISearchDoc{Key: "docs/caching.md", Text: "How do I configure caching? Set a cache TTL on the gateway."},
		wiretest.AISearchDoc{Key: "docs/limits.md", Text: "How to configure rate limits per gateway."},
		wiretest.AISearchDoc{Key: "blog/caching-story.md", Text: "How we configure caching at home."},
	)
	fl := fileFlow(t, "../examples/flows/ai-search.yaml", cfEnv(cf))
	vars := map[string]any{"cf_api": cf.APIBase(), "folder": "docs/", "question": "How do I configure caching?"}
	res := e2eRun(t, fl, t.TempDir(), engine.RunOptions{Vars: vars})
	if d := cmp.Diff([]any{"docs/caching.md", "docs/limits.md"}, res.Outputs["sources"]); d != "" {
		t.Errorf("sources (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]any{"docs/caching.md"}, res.Outputs["retrieved"]); d != "" {
		t.Errorf("retrieved (-want +got):\n%s", d) // min_relative drops the weaker match
	}
	if a, _ := res.Outputs["answer"].(string); a != "According to docs/caching.md: How do I configure caching? Set a cache TTL on the gateway." {
		t.Errorf("answer = %q", a)
	}
	reqs := cf.AISearch().Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d AI Search requests, want 2: %+v", len(reqs), reqs)
	}
	byPath := map[string]map[string]any{}
	for _, r := range reqs {
		byPath[r.Path] = r.Body
	}
	wantSearch := map[string]any{"query": "How do I configure caching?", "ai_search_options": map[string]any{
		"query_rewrite": map[string]any{"enabled": true},
		"retrieval":     map[string]any{"max_num_results": 8.0, "match_threshold": 0.3, "filters": map[string]any{"folder": "docs/"}}}}
	if d := cmp.Diff(wantSearch, byPath["search"]); d != "" {
		t.Errorf("search request (-want +got):\n%s", d)
	}
	opts, _ := byPath["chat/completions"]["ai_search_options"].(map[string]any)
	wantOpts := map[string]any{"query_rewrite": map[string]any{"enabled": true}, "reranking": map[string]any{"enabled": true},
		"retrieval": map[string]any{"max_num_results": 5.0, "match_threshold": 0.3, "filters": map[string]any{"folder": "docs/"}}}
	if d := cmp.Diff(wantOpts, opts); d != "" {
		t.Errorf("chat ai_search_options (-want +got):\n%s", d)
	}
	for _, r := range cf.Requests() {
		if r.Path != "/client/v4/accounts/"+cf.Account()+"/ai-search/instances/docs" &&
			r.Path != "/client/v4/accounts/"+cf.Account()+"/ai-search/instances/docs/search" &&
			r.Path != "/client/v4/accounts/"+cf.Account()+"/ai-search/instances/docs/chat/completions" {
			t.Errorf("unexpected request %s (nothing else, e.g. an embedding, should be called)", r.Path)
		}
	}
}

// TestPlanAISearchEmbedsNothing: a search step on an ai-search index sends its text to
// the instance, which embeds it itself, so plan shows no embedding tokens for it.
func TestPlanAISearchEmbedsNothing(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.AISearch().AddInstance("docs", wiretest.AISearchDoc{Key: "a.md", Text: "alpha"})
	fl := fileFlow(t, "../examples/flows/ai-search.yaml", cfEnv(cf))
	p, err := fl.Plan(context.Background(), engine.PlanOptions{Store: openStore(t), Vars: map[string]any{"cf_api": cf.APIBase()}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Steps {
		if s.ID == "chunks" && (s.Estimate.InputTokens != 0 || s.Estimate.OutputTokens != 0) {
			t.Errorf("search on an ai-search index: estimate %+v, want no tokens (AI Search embeds the query)", s.Estimate)
		}
	}
}
