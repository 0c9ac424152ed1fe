package search

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

// textIndex is an index that searches by text itself, like an AI Search instance.
type textIndex struct {
	providers.VectorIndex // nil: any vector call panics, so the test sees it
	got                   []providers.TextSearch
}

func (x *textIndex) SearchText(_ context.Context, q providers.TextSearch) (providers.TextSearchResult, error) {
	x.got = append(x.got, q)
	return providers.TextSearchResult{SearchQuery: q.Query, Matches: []providers.Match{
		{ID: "a#0", Score: 0.9, Text: "install with go install", Metadata: map[string]any{"filename": "a.md"}},
		{ID: "b#0", Score: 0.3, Text: "unrelated", Metadata: map[string]any{"filename": "b.md"}},
	}}, nil
}

func (x *textIndex) Info(context.Context) (providers.IndexInfo, error) {
	return providers.IndexInfo{}, nil
}

// textEnv serves one text-searching index and no embedders.
type textEnv struct {
	*steptest.Env
	idx *textIndex
}

func (e textEnv) VectorIndex(_ context.Context, name string) (providers.VectorIndex, providers.IndexSpec, error) {
	return e.idx, providers.IndexSpec{Name: name, Backend: "ai-search"}, nil
}

func TestTextSearchIndex(t *testing.T) {
	on := true
	tests := []struct {
		name    string
		inputs  map[string]any
		want    providers.TextSearch
		wantIDs []string
		err     string
	}{
		{"text as is, relative floor", map[string]any{"text": "how to install", "top_k": 3, "min_relative": DefaultMinRelative}, providers.TextSearch{Query: "how to install", MaxResults: 3}, []string{"a#0"}, ""},
		{"options", map[string]any{"text": "install", "min_score": 0.2, "min_relative": 0.0, "filter": map[string]any{"folder": "docs/"}, "rewrite_query": true, "rerank": true},
			providers.TextSearch{Query: "install", MaxResults: 5, MinScore: 0.2, Filter: map[string]any{"folder": "docs/"}, RewriteQuery: &on, Rerank: &on}, []string{"a#0", "b#0"}, ""},
		{"vector only", map[string]any{"vector": []any{1.0, 0.0}}, providers.TextSearch{}, nil, "give text:, not vector:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := &textIndex{}
			env := textEnv{Env: &steptest.Env{}, idx: idx}
			res, err := searcher{}.Run(context.Background(), newCall(env, nil, tt.inputs))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want …%s…", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]providers.TextSearch{tt.want}, idx.got); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantIDs, ids(res.Output)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAISearchOptionsElsewhere: rewrite_query and rerank are refused for other indexes.
func TestAISearchOptionsElsewhere(t *testing.T) {
	env, _, _ := fixture(t)
	for _, key := range []string{"rewrite_query", "rerank"} {
		_, err := searcher{}.Run(context.Background(), newCall(env, nil, map[string]any{"text": "ab", key: true}))
		if err == nil || !strings.Contains(err.Error(), key+" applies to ai-search indexes only") {
			t.Errorf("%s: err = %v", key, err)
		}
	}
}

var _ steps.Env = textEnv{}
