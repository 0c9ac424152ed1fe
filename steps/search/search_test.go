package search

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

// fixture is an index of three letter-count vectors (26 dimensions) with texts and
// metadata, an env whose index embedder is a letter counter, and a routed model that
// serves nothing (so using it by mistake fails).
func fixture(t *testing.T) (*steptest.Env, *steptest.Index, *steptest.Embedder) {
	t.Helper()
	emb := steptest.WordEmbedder(26)
	idx := steptest.NewIndex(26)
	docs := []struct{ id, text, lang string }{{"d1", "aaa bbb", "en"}, {"d2", "zzz yyy", "en"}, {"d3", "aaa zzz", "fr"}}
	var vs []providers.Vector
	for _, d := range docs {
		resp, _ := emb.Embed(context.Background(), providers.EmbedRequest{Texts: []string{d.text}})
		vs = append(vs, providers.Vector{ID: d.id, Values: resp.Vectors[0], Text: d.text, Metadata: map[string]any{"lang": d.lang}})
	}
	if _, err := idx.Upsert(context.Background(), vs); err != nil {
		t.Fatal(err)
	}
	indexEmb := steptest.WordEmbedder(26)
	env := &steptest.Env{Indexes: map[string]*steptest.Index{"kb": idx}, Embedders: map[string]*steps.Model{"kb": steptest.Model(indexEmb, "index-embedder")}}
	return env, idx, indexEmb
}

func newCall(env steps.Env, m *steps.Model, inputs map[string]any) *steps.Call {
	in := map[string]any{"index": steps.ResourceRef{Name: "kb", Kind: "vector-index"}, "top_k": 5, "mode": "vector", "return_metadata": true}
	for k, v := range inputs {
		in[k] = v
	}
	return &steps.Call{StepID: "s", Item: -1, Inputs: in, Model: m, Env: env}
}

func ids(out map[string]any) []string {
	var got []string
	for _, m := range out["matches"].([]any) {
		got = append(got, m.(map[string]any)["id"].(string))
	}
	return got
}

func TestRun(t *testing.T) {
	letters := func(s string) []any {
		v := make([]any, 26)
		for i := range v {
			v[i] = 0.0
		}
		for _, r := range s {
			v[r-'a'] = v[r-'a'].(float64) + 1
		}
		return v
	}
	tests := []struct {
		name     string
		ownModel bool
		inputs   map[string]any
		wantIDs  []string
		wantRef  string // model that embedded the query
		wantQ    providers.VectorQuery
	}{
		{
			name:    "vector",
			inputs:  map[string]any{"vector": letters("zy"), "top_k": 2},
			wantIDs: []string{"d2", "d3"},
			wantQ:   providers.VectorQuery{Mode: "vector", TopK: 2, ReturnMetadata: true},
		},
		{
			name:    "text embedded by the index's embedder",
			inputs:  map[string]any{"text": "ab", "top_k": 1},
			wantIDs: []string{"d1"},
			wantRef: "test:index-embedder",
			wantQ:   providers.VectorQuery{Mode: "vector", Text: "ab", TopK: 1, ReturnMetadata: true},
		},
		{
			name:     "text embedded by the step's model",
			ownModel: true,
			inputs:   map[string]any{"text": "ab", "top_k": 1},
			wantIDs:  []string{"d1"},
			wantRef:  "test:own",
			wantQ:    providers.VectorQuery{Mode: "vector", Text: "ab", TopK: 1, ReturnMetadata: true},
		},
		{
			name:    "filter and no metadata",
			inputs:  map[string]any{"text": "aaa", "filter": map[string]any{"lang": "fr"}, "return_metadata": false, "namespace": ""},
			wantIDs: []string{"d3"},
			wantRef: "test:index-embedder",
			wantQ:   providers.VectorQuery{Mode: "vector", Text: "aaa", TopK: 5, Filter: map[string]any{"lang": "fr"}},
		},
		{
			name:    "keyword needs no embedding",
			inputs:  map[string]any{"text": "zzz", "mode": "keyword", "top_k": 2},
			wantIDs: []string{"d2", "d3"},
			wantQ:   providers.VectorQuery{Mode: "keyword", Text: "zzz", TopK: 2, ReturnMetadata: true},
		},
		{
			name:    "a question's frame words are not searched for",
			inputs:  map[string]any{"text": "How does zzz work?", "mode": "keyword", "question": true, "top_k": 2},
			wantIDs: []string{"d2", "d3"},
			wantQ:   providers.VectorQuery{Mode: "keyword", Text: "How does zzz", TopK: 2, ReturnMetadata: true},
		},
		{
			name:    "hybrid embeds the text",
			inputs:  map[string]any{"text": "aaa zzz", "mode": "hybrid", "top_k": 1},
			wantIDs: []string{"d3"},
			wantRef: "test:index-embedder",
			wantQ:   providers.VectorQuery{Mode: "hybrid", Text: "aaa zzz", TopK: 1, ReturnMetadata: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, idx, _ := fixture(t)
			var m *steps.Model // the engine routes no model unless the step chose one
			if tt.ownModel {
				m = steptest.Model(steptest.WordEmbedder(26), "own")
			}
			res, err := searcher{}.Run(context.Background(), newCall(env, m, tt.inputs))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.wantIDs, ids(res.Output)); d != "" {
				t.Errorf("match ids (-want +got):\n%s", d)
			}
			if res.ModelRef != tt.wantRef {
				t.Errorf("query embedded by %q, want %q", res.ModelRef, tt.wantRef)
			}
			if res.Output["count"] != len(tt.wantIDs) || len(res.Output["texts"].([]string)) != len(tt.wantIDs) {
				t.Errorf("count/texts = %v / %v", res.Output["count"], res.Output["texts"])
			}
			q := idx.Queries()[0]
			if d := cmp.Diff(tt.wantQ, q, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Vector" }, cmp.Ignore())); d != "" {
				t.Errorf("query (-want +got):\n%s", d)
			}
			if (q.Vector == nil) != (tt.inputs["mode"] == "keyword") {
				t.Errorf("query vector = %v", q.Vector)
			}
		})
	}
}

func TestMatchShape(t *testing.T) {
	env, _, _ := fixture(t)
	res, err := searcher{}.Run(context.Background(), newCall(env, nil, map[string]any{"text": "bbb", "top_k": 1}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"count": 1, "texts": []string{"aaa bbb"}, "matches": []any{
		map[string]any{"id": "d1", "score": res.Output["matches"].([]any)[0].(map[string]any)["score"], "text": "aaa bbb", "metadata": map[string]any{"lang": "en"}},
	}}
	if d := cmp.Diff(want, res.Output); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name     string
		ownModel bool
		model    *steps.Model
		inputs   map[string]any
		wantErr  string
	}{
		{name: "keyword without text", inputs: map[string]any{"vector": []any{1.0}, "mode": "keyword"}, wantErr: "keyword search needs text"},
		{name: "nothing to search for", inputs: map[string]any{}, wantErr: "search needs vector or text"},
		{name: "top_k too large", inputs: map[string]any{"text": "a", "top_k": 101}, wantErr: "top_k must be from 1 to 100, got 101"},
		{name: "top_k zero", inputs: map[string]any{"text": "a", "top_k": 0}, wantErr: "top_k must be from 1 to 100, got 0"},
		{name: "bad vector", inputs: map[string]any{"vector": []any{"x"}}, wantErr: `vector: expected a list of numbers, element 0 is the string "x"`},
		{name: "vector of the wrong size", inputs: map[string]any{"vector": []any{1.0, 2.0}}, wantErr: "the query vector has 2 dimensions but index kb has 26"},
		{name: "query embedder of the wrong size", ownModel: true, model: steptest.Model(steptest.WordEmbedder(8), "small"), inputs: map[string]any{"text": "a"},
			wantErr: "the query embedded with test:small has 8 dimensions but index kb has 26: embed queries with the model that embedded the documents (set model: on the step or on resources.kb)"},
		{name: "step model lacks embed", ownModel: true, model: steptest.Model(steptest.Bare{}, "m"), inputs: map[string]any{"text": "a"},
			wantErr: "model test:m (provider kind bare) does not serve embed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, _ := fixture(t)
			_, err := searcher{}.Run(context.Background(), newCall(env, tt.model, tt.inputs))
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		step      *spec.Step
		wantDiags int
		wantOwn   bool
	}{
		{"text", &spec.Step{ID: "s", With: []*spec.Setting{{Key: "text"}}}, 0, false},
		{"own model", &spec.Step{ID: "s", With: []*spec.Setting{{Key: "vector"}}, Model: &spec.Ref{Name: "cf:bge"}}, 0, true},
		{"own route", &spec.Step{ID: "s", With: []*spec.Setting{{Key: "text"}}, Route: &spec.Ref{Name: "r"}}, 0, true},
		{"no query", &spec.Step{ID: "s", With: []*spec.Setting{{Key: "index"}}}, 1, false},
		{"no with block", &spec.Step{ID: "s", Pos: spec.Pos{File: "f.yaml", Line: 3}}, 1, false},
		{"built in code", &spec.Step{ID: "s.search", Uses: "search"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, diags := Kind.New(tt.step)
			if len(diags) != tt.wantDiags {
				t.Errorf("diagnostics = %v", diags)
			}
			_ = st
		})
	}
}

// TestRelevanceFloors checks min_score and min_relative. The query "ab" has cosine 1 with
// d1 ("aaa bbb"), 0.5 with d3 ("aaa zzz") and 0 with d2 ("zzz yyy").
func TestRelevanceFloors(t *testing.T) {
	tests := []struct {
		name    string
		inputs  map[string]any
		wantIDs []string
	}{
		{"no floors", map[string]any{"min_score": 0.0, "min_relative": 0.0}, []string{"d1", "d3", "d2"}},
		{"absolute floor", map[string]any{"min_score": 0.8, "min_relative": 0.0}, []string{"d1"}},
		{"absolute floor as an int", map[string]any{"min_score": 0, "min_relative": 0.0}, []string{"d1", "d3", "d2"}},
		{"relative floor keeps half of the best", map[string]any{"min_relative": 0.5}, []string{"d1", "d3"}},
		{"relative floor above half", map[string]any{"min_relative": 0.6}, []string{"d1"}},
		{"nothing clears the floor", map[string]any{"min_score": 1.5}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, _ := fixture(t)
			in := map[string]any{"text": "ab"}
			for k, v := range tt.inputs {
				in[k] = v
			}
			res, err := searcher{}.Run(context.Background(), newCall(env, nil, in))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.wantIDs, ids(res.Output)); d != "" {
				t.Errorf("ids (-want +got):\n%s", d)
			}
			if n := res.Output["count"].(int); n != len(tt.wantIDs) {
				t.Errorf("count = %d, want %d", n, len(tt.wantIDs))
			}
		})
	}
}

func TestRelevanceFloorDefaults(t *testing.T) {
	fields := map[string]any{}
	for _, f := range Kind.Inputs {
		fields[f.Name] = f.Default
	}
	if fields["min_score"] != 0.0 || fields["min_relative"] != DefaultMinRelative {
		t.Errorf("defaults: min_score %v, min_relative %v; want 0 and %v", fields["min_score"], fields["min_relative"], DefaultMinRelative)
	}
}

func TestRelevanceFloorErrors(t *testing.T) {
	tests := []struct {
		name    string
		inputs  map[string]any
		wantErr string
	}{
		{"relative above 1", map[string]any{"min_relative": 1.5}, "min_relative must be from 0 to 1 (a share of the best match's score), got 1.5"},
		{"relative negative", map[string]any{"min_relative": -0.1}, "min_relative must be from 0 to 1 (a share of the best match's score), got -0.1"},
		{"not a number", map[string]any{"min_score": "high"}, `min_score must be a number, got the string "high"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, _ := fixture(t)
			in := map[string]any{"text": "ab"}
			for k, v := range tt.inputs {
				in[k] = v
			}
			_, err := searcher{}.Run(context.Background(), newCall(env, nil, in))
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
