package aisearch

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func newBackend(t *testing.T) (providers.IndexBackend, *wiretest.Cloudflare) {
	t.Helper()
	cf := wiretest.NewCloudflare(t)
	cf.AISearch().AddInstance("docs",
		wiretest.AISearchDoc{Key: "guide/install.md", Text: "Install aiflow with go install.", Timestamp: 1735689600000, Metadata: map[string]any{"version": 2.0}},
		wiretest.AISearchDoc{Key: "guide/run.md", Text: "Run a flow with aiflow run; install first.", Timestamp: 1735689700000},
		wiretest.AISearchDoc{Key: "blog/news.md", Text: "News about the cloud.", Timestamp: 1735689800000},
	)
	b, err := New(providers.IndexBackendConfig{Settings: map[string]any{"account_id": cf.Account(), "api_token": cf.Token(), "base_url": cf.APIBase()},
		Retry: providers.RetryPolicy{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return b, cf
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	b, _ := newBackend(t)
	if _, err := b.Open(ctx, providers.IndexSpec{Name: "docs"}, true); err != nil {
		t.Fatalf("Open(docs) = %v", err)
	}
	_, err := b.Open(ctx, providers.IndexSpec{Name: "nope"}, true)
	if err == nil || !strings.Contains(err.Error(), `ai-search instance "nope" does not exist`) || !strings.Contains(err.Error(), "existing instances only") {
		t.Errorf("Open(nope) = %v, want a does-not-exist error", err)
	}
	if _, ok, err := b.Describe(ctx, providers.IndexSpec{Name: "nope"}); ok || err != nil {
		t.Errorf("Describe(nope) = %v, %v", ok, err)
	}
	if err := b.Delete(ctx, providers.IndexSpec{Name: "docs"}); err != nil {
		t.Errorf("Delete = %v", err)
	}
	if _, ok, _ := b.Describe(ctx, providers.IndexSpec{Name: "docs"}); !ok {
		t.Error("Delete removed an instance aiflow does not own")
	}
	if _, err := b.Open(ctx, providers.IndexSpec{Name: "Bad/Name"}, false); err == nil || !strings.Contains(err.Error(), "lowercase letters") {
		t.Errorf("Open(Bad/Name) = %v", err)
	}
}

func TestSearchText(t *testing.T) {
	ctx := context.Background()
	b, cf := newBackend(t)
	idx, err := b.Open(ctx, providers.IndexSpec{Name: "docs"}, false)
	if err != nil {
		t.Fatal(err)
	}
	on, off := true, false
	tests := []struct {
		name string
		q    providers.TextSearch
		keys []string
		sent map[string]any // ai_search_options as sent
	}{
		{"defaults", providers.TextSearch{Query: "install aiflow"}, []string{"guide/install.md", "guide/run.md"}, nil},
		{"max results", providers.TextSearch{Query: "install aiflow", MaxResults: 1}, []string{"guide/install.md"},
			map[string]any{"retrieval": map[string]any{"max_num_results": 1.0}}},
		{"folder filter", providers.TextSearch{Query: "install", Filter: map[string]any{"folder": "guide/", "timestamp": map[string]any{"$gte": 1735689650000.0}}}, []string{"guide/run.md"},
			map[string]any{"retrieval": map[string]any{"filters": map[string]any{"folder": "guide/", "timestamp": map[string]any{"$gte": 1735689650000.0}}}}},
		{"threshold and switches", providers.TextSearch{Query: "install aiflow cloud", MinScore: 0.6, RewriteQuery: &on, Rerank: &off}, []string{"guide/install.md", "guide/run.md"},
			map[string]any{"retrieval": map[string]any{"match_threshold": 0.6}, "query_rewrite": map[string]any{"enabled": true}, "reranking": map[string]any{"enabled": false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := idx.(providers.TextSearcher).SearchText(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, m := range res.Matches {
				keys = append(keys, m.Metadata["filename"].(string))
			}
			if diff := cmp.Diff(tt.keys, keys); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			reqs := cf.AISearch().Requests()
			last := reqs[len(reqs)-1].Body
			if last["query"] != tt.q.Query {
				t.Errorf("query sent = %v", last["query"])
			}
			got, _ := last["ai_search_options"].(map[string]any)
			if diff := cmp.Diff(tt.sent, got); diff != "" {
				t.Errorf("ai_search_options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnswer(t *testing.T) {
	ctx := context.Background()
	b, cf := newBackend(t)
	idx, err := b.Open(ctx, providers.IndexSpec{Name: "docs"}, false)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := idx.(providers.Answerer).Answer(ctx, providers.AnswerRequest{TextSearch: providers.TextSearch{Query: "how to install aiflow", MaxResults: 2},
		System: "Answer briefly.", Model: "@cf/meta/llama-3.1-8b-instruct-fast"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ans.Text, "guide/install.md") || len(ans.Sources) != 2 || ans.Model != "@cf/meta/llama-3.1-8b-instruct-fast" {
		t.Errorf("Answer = %+v", ans)
	}
	body := cf.AISearch().Requests()[0].Body
	want := []any{map[string]any{"role": "system", "content": "Answer briefly."}, map[string]any{"role": "user", "content": "how to install aiflow"}}
	if diff := cmp.Diff(want, body["messages"]); diff != "" || body["stream"] != false {
		t.Errorf("messages (-want +got):\n%s stream=%v", diff, body["stream"])
	}
}

func TestRejects(t *testing.T) {
	ctx := context.Background()
	b, _ := newBackend(t)
	idx, err := b.Open(ctx, providers.IndexSpec{Name: "docs"}, false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"upsert", func() error { _, err := idx.Upsert(ctx, []providers.Vector{{ID: "a"}}); return err }, "cannot write"},
		{"vector query", func() error { _, err := idx.Query(ctx, providers.VectorQuery{Vector: []float32{1}}); return err }, "searches by text"},
		{"too many", func() error {
			_, err := idx.(providers.TextSearcher).SearchText(ctx, providers.TextSearch{Query: "x", MaxResults: 51})
			return err
		}, "from 1 to 50"},
		{"threshold", func() error {
			_, err := idx.(providers.TextSearcher).SearchText(ctx, providers.TextSearch{Query: "x", MinScore: 2})
			return err
		}, "from 0 to 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want …%s…", err, tt.want)
			}
		})
	}
}

func TestNoAccount(t *testing.T) {
	if _, err := New(providers.IndexBackendConfig{}); err == nil || !strings.Contains(err.Error(), "no Cloudflare account") {
		t.Errorf("New = %v", err)
	}
}
