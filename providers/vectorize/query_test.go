package vectorize_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// corpus opens an index of 2-dimensional vectors with metadata and namespaces.
func corpus(t *testing.T, cf *wiretest.Cloudflare, metric string) providers.VectorIndex {
	t.Helper()
	x := open(t, newBackend(t, cf, nil), spec("kb", 2, metric,
		map[string]string{"src": "string", "year": "number", "draft": "boolean"}, nil))
	vs := []providers.Vector{
		vec("east", []float32{1, 0}, "src", "a.md", "year", 2020, "draft", false),
		vec("e2", []float32{0.9, 0.1}, "src", "a.md", "year", 2023, "draft", true),
		vec("e3", []float32{0.8, 0.2}, "src", "b.md", "year", 2021),
		vec("north", []float32{0, 1}, "src", "b.md", "year", 2024),
		vec("west", []float32{-1, 0}, "src", "c.md"),
		{ID: "ne", Values: []float32{0.7, 0.7}, Metadata: map[string]any{"src": "a.md"}, Namespace: "team"},
		{ID: "far", Values: []float32{10, 0.5}, Namespace: "team"},
	}
	if _, err := x.Upsert(context.Background(), vs); err != nil {
		t.Fatal(err)
	}
	return x
}

func TestQuery(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	x := corpus(t, cf, "cosine")
	tests := []struct {
		name string
		q    providers.VectorQuery
		want []string
	}{
		{"default topK is 5", providers.VectorQuery{Vector: []float32{1, 0}}, []string{"east", "far", "e2", "e3", "ne"}},
		{"topK", providers.VectorQuery{Vector: []float32{1, 0}, TopK: 2}, []string{"east", "far"}},
		{"vector mode named", providers.VectorQuery{Vector: []float32{0, 1}, Mode: providers.ModeVector, TopK: 1}, []string{"north"}},
		{"namespace", providers.VectorQuery{Vector: []float32{1, 0}, Namespace: "team"}, []string{"far", "ne"}},
		{"filter $eq", providers.VectorQuery{Vector: []float32{1, 0}, Filter: map[string]any{"src": "a.md"}}, []string{"east", "e2", "ne"}},
		{"filter and namespace", providers.VectorQuery{Vector: []float32{1, 0}, Filter: map[string]any{"src": "a.md"}, Namespace: "team"}, []string{"ne"}},
		{"range", providers.VectorQuery{Vector: []float32{1, 0}, Filter: map[string]any{"year": map[string]any{"$gte": 2021, "$lt": 2024}}}, []string{"e2", "e3"}},
		{"$in from YAML strings", providers.VectorQuery{Vector: []float32{1, 0}, Filter: map[string]any{"src": map[string]any{"$in": []string{"b.md", "c.md"}}}}, []string{"e3", "north", "west"}},
		{"$ne and boolean ANDed", providers.VectorQuery{Vector: []float32{1, 0}, Filter: map[string]any{"src": map[string]any{"$ne": "b.md"}, "draft": false}}, []string{"east"}},
		{"no match", providers.VectorQuery{Vector: []float32{1, 0}, Filter: map[string]any{"src": "z.md"}}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := x.Query(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueryReturns(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	x := corpus(t, cf, "euclidean")
	q := providers.VectorQuery{Vector: []float32{0.7, 0.7}, TopK: 1, Namespace: "team"}
	tests := []struct {
		name            string
		values, meta    bool
		want            providers.Match
		wantReturnField string
	}{
		{"ids and scores", false, false, providers.Match{ID: "ne", Score: 0, Namespace: "team"}, `"returnMetadata":"none"`},
		{"values", true, false, providers.Match{ID: "ne", Namespace: "team", Values: []float32{0.7, 0.7}}, `"returnValues":true`},
		{"metadata", false, true, providers.Match{ID: "ne", Namespace: "team", Metadata: map[string]any{"src": "a.md"}}, `"returnMetadata":"all"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf.Reset()
			q := q
			q.ReturnValues, q.ReturnMetadata = tt.values, tt.meta
			got, err := x.Query(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]providers.Match{tt.want}, got); diff != "" {
				t.Errorf("matches (-want +got):\n%s", diff)
			}
			body := string(cf.Requests()[0].Body)
			for _, frag := range []string{tt.wantReturnField, `"namespace":"team"`, `"topK":1`} {
				if !strings.Contains(body, frag) {
					t.Errorf("query body %s lacks %s", body, frag)
				}
			}
		})
	}
}

func TestQueryRejects(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	x := corpus(t, cf, "cosine")
	v := []float32{1, 0}
	tests := []struct {
		name string
		q    providers.VectorQuery
		want []string
	}{
		{"keyword mode", providers.VectorQuery{Mode: providers.ModeKeyword, Text: "cats"}, []string{"keyword search is not supported by Vectorize", "backend: local"}},
		{"hybrid mode", providers.VectorQuery{Mode: providers.ModeHybrid, Vector: v, Text: "cats"}, []string{"hybrid search is not supported", "backend: local"}},
		{"unknown mode", providers.VectorQuery{Mode: "semantic", Vector: v}, []string{`unknown search mode "semantic"`}},
		{"wrong dimensions", providers.VectorQuery{Vector: []float32{1, 0, 0}}, []string{"query vector has 3 dimensions, the index has 2"}},
		{"topK 101", providers.VectorQuery{Vector: v, TopK: 101}, []string{"topK 101", "at most 100"}},
		{"topK 51 with metadata", providers.VectorQuery{Vector: v, TopK: 51, ReturnMetadata: true}, []string{"topK 51", "at most 50 matches with values or metadata"}},
		{"topK 51 with values", providers.VectorQuery{Vector: v, TopK: 51, ReturnValues: true}, []string{"at most 50"}},
		{"negative topK", providers.VectorQuery{Vector: v, TopK: -1}, []string{"topK must be positive"}},
		{"unindexed property", providers.VectorQuery{Vector: v, Filter: map[string]any{"page": 1}}, []string{`filter on "page": the property has no metadata index`, "draft (boolean), src (string), year (number)"}},
		{"unknown operator", providers.VectorQuery{Vector: v, Filter: map[string]any{"src": map[string]any{"$regex": "a"}}}, []string{`unknown operator "$regex"`}},
		{"$or", providers.VectorQuery{Vector: v, Filter: map[string]any{"$or": []any{}}}, []string{`key "$or"`, "$and/$or do not exist"}},
		{"two lower bounds", providers.VectorQuery{Vector: v, Filter: map[string]any{"year": map[string]any{"$gt": 1, "$gte": 2}}}, []string{"only as a lower and an upper bound", "$gt $gte"}},
		{"$in of a string", providers.VectorQuery{Vector: v, Filter: map[string]any{"src": map[string]any{"$in": "a.md"}}}, []string{"$in takes a non-empty list"}},
		{"range on a boolean", providers.VectorQuery{Vector: v, Filter: map[string]any{"draft": map[string]any{"$lt": true}}}, []string{"$lt takes a number or a string"}},
		{"bare list", providers.VectorQuery{Vector: v, Filter: map[string]any{"src": []any{"a.md"}}}, []string{"want a string, number, boolean, null or an operator object"}},
		{"filter of 2048 bytes", providers.VectorQuery{Vector: v, Filter: map[string]any{"src": strings.Repeat("x", 2040)}}, []string{"filter is 2050 bytes", "limit is 2047"}},
		{"namespace of 65 bytes", providers.VectorQuery{Vector: v, Namespace: strings.Repeat("n", 65)}, []string{"namespace is 65 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf.Reset()
			_, err := x.Query(context.Background(), tt.q)
			wantErr(t, err, append([]string{`vectorize index "kb": query: `}, tt.want...)...)
			if cf.Count() != 0 {
				t.Errorf("%d requests sent for an invalid query", cf.Count())
			}
		})
	}
}

func TestGetAndDeleteByIDs(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	x := corpus(t, cf, "cosine")
	ctx := context.Background()
	got, err := x.GetByIDs(ctx, []string{"ne", "missing", "east", "ne"})
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.Vector{
		{ID: "ne", Values: []float32{0.7, 0.7}, Metadata: map[string]any{"src": "a.md"}, Namespace: "team"},
		{ID: "east", Values: []float32{1, 0}, Metadata: map[string]any{"src": "a.md", "year": 2020.0, "draft": false}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetByIDs (-want +got):\n%s", diff)
	}
	n, err := x.DeleteByIDs(ctx, []string{"east", "e2", "east", "missing"})
	if err != nil || n != 3 {
		t.Fatalf("DeleteByIDs = %d, %v; want 3 distinct ids", n, err)
	}
	if got, _ := x.GetByIDs(ctx, []string{"east", "e2", "ne"}); !cmp.Equal([]string{"ne"}, vectorIDs(got)) {
		t.Errorf("after delete GetByIDs = %v, want [ne]", vectorIDs(got))
	}
	if _, err := x.GetByIDs(ctx, []string{strings.Repeat("x", 65)}); err == nil {
		t.Error("GetByIDs accepted an id of 65 bytes")
	}
	if _, err := x.DeleteByIDs(ctx, []string{""}); err == nil {
		t.Error("DeleteByIDs accepted an empty id")
	}
}

func TestIDChunks(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	x := open(t, newBackend(t, cf, nil), spec("kb", 2, "cosine", nil, nil))
	list := make([]string, 2500)
	for i := range list {
		list[i] = "id-" + strconv.Itoa(i)
	}
	cf.Reset()
	if _, err := x.GetByIDs(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	if _, err := x.DeleteByIDs(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	if gets, dels := count(cf, "POST", "/get_by_ids"), count(cf, "POST", "/delete_by_ids"); gets != 25 || dels != 3 {
		t.Errorf("%d get_by_ids and %d delete_by_ids requests, want 25 (100 ids each) and 3 (1000 each)", gets, dels)
	}
}

func vectorIDs(vs []providers.Vector) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.ID)
	}
	return out
}
