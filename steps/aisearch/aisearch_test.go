package aisearch

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

// answerIndex answers like an AI Search instance and records the request.
type answerIndex struct {
	providers.VectorIndex
	got []providers.AnswerRequest
}

func (x *answerIndex) Answer(_ context.Context, r providers.AnswerRequest) (providers.Answer, error) {
	x.got = append(x.got, r)
	return providers.Answer{Text: "Set a TTL.", Model: "m", Sources: []providers.Match{{ID: "a#0", Score: 0.8, Text: "TTL docs", Metadata: map[string]any{"filename": "a.md"}}}}, nil
}

type env struct {
	*steptest.Env
	idx providers.VectorIndex
}

func (e env) VectorIndex(_ context.Context, name string) (providers.VectorIndex, providers.IndexSpec, error) {
	return e.idx, providers.IndexSpec{Name: name, Backend: "ai-search"}, nil
}

func call(e steps.Env, in map[string]any) *steps.Call {
	all := map[string]any{"index": steps.ResourceRef{Name: "docs", Kind: "vector-index"}}
	for k, v := range in {
		all[k] = v
	}
	return &steps.Call{StepID: "a", Item: -1, Inputs: all, Env: e}
}

func TestRun(t *testing.T) {
	idx := &answerIndex{}
	off := false
	res, err := asker{}.Run(context.Background(), call(env{&steptest.Env{}, idx}, map[string]any{
		"query": "caching?", "system": "Be brief.", "answer_model": "@cf/x", "max_results": 3, "min_score": 0.4,
		"filter": map[string]any{"folder": "docs/"}, "rerank": false}))
	if err != nil {
		t.Fatal(err)
	}
	want := providers.AnswerRequest{TextSearch: providers.TextSearch{Query: "caching?", MaxResults: 3, MinScore: 0.4,
		Filter: map[string]any{"folder": "docs/"}, Rerank: &off}, System: "Be brief.", Model: "@cf/x"}
	if d := cmp.Diff([]providers.AnswerRequest{want}, idx.got); d != "" {
		t.Errorf("request (-want +got):\n%s", d)
	}
	wantOut := map[string]any{"answer": "Set a TTL.", "model": "m", "count": 1, "texts": []string{"TTL docs"},
		"sources": []any{map[string]any{"id": "a#0", "score": 0.8, "text": "TTL docs", "filename": "a.md", "metadata": map[string]any{"filename": "a.md"}}}}
	if d := cmp.Diff(wantOut, res.Output); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
}

func TestRunRejects(t *testing.T) {
	tests := []struct {
		name string
		idx  providers.VectorIndex
		in   map[string]any
		want string
	}{
		{"not AI Search", steptest.NewIndex(2), map[string]any{"query": "x"}, "needs a vector-index with backend: ai-search"},
		{"empty query", &answerIndex{}, map[string]any{"query": ""}, "query is empty"},
		{"max results", &answerIndex{}, map[string]any{"query": "x", "max_results": 51}, "from 1 to 50"},
		{"min score", &answerIndex{}, map[string]any{"query": "x", "min_score": 1.5}, "from 0 to 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := asker{}.Run(context.Background(), call(env{&steptest.Env{}, tt.idx}, tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want …%s…", err, tt.want)
			}
		})
	}
}
