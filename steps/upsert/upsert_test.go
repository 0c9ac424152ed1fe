package upsert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/steptest"
)

func id(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:32]
}

// vecs builds vectors the way they arrive after a JSON round trip.
func vecs(vs ...[]float64) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		row := make([]any, len(v))
		for j, f := range v {
			row[j] = f
		}
		out[i] = row
	}
	return out
}

func newCall(env *steptest.Env, item int, inputs map[string]any) *steps.Call {
	in := map[string]any{"index": steps.ResourceRef{Name: "kb", Kind: "vector-index"}, "offset": 0}
	for k, v := range inputs {
		in[k] = v
	}
	return &steps.Call{StepID: "up", Item: item, Inputs: in, Env: env}
}

func stored(t *testing.T, idx *steptest.Index, ids ...string) []providers.Vector {
	t.Helper()
	vs, err := idx.GetByIDs(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		inputs  map[string]any
		wantIDs []string
		want    []providers.Vector
	}{
		{
			name:    "ids from source and chunk index",
			inputs:  map[string]any{"vectors": vecs([]float64{1, 0}, []float64{0, 1}), "texts": []string{"a", "b"}, "source": "doc.md"},
			wantIDs: []string{id("doc.md:0"), id("doc.md:1")},
			want: []providers.Vector{
				{ID: id("doc.md:0"), Values: []float32{1, 0}, Text: "a", Metadata: map[string]any{"source": "doc.md"}},
				{ID: id("doc.md:1"), Values: []float32{0, 1}, Text: "b", Metadata: map[string]any{"source": "doc.md"}},
			},
		},
		{
			name:    "offset shifts the chunk index",
			inputs:  map[string]any{"vectors": vecs([]float64{1, 0}), "source": "doc.md", "offset": 7},
			wantIDs: []string{id("doc.md:7")},
			want:    []providers.Vector{{ID: id("doc.md:7"), Values: []float32{1, 0}, Metadata: map[string]any{"source": "doc.md"}}},
		},
		{
			name:    "ids from text without a source",
			inputs:  map[string]any{"vectors": vecs([]float64{1, 1}), "texts": []string{"hello"}, "namespace": "ns"},
			wantIDs: []string{id("text:hello")},
			want:    []providers.Vector{{ID: id("text:hello"), Values: []float32{1, 1}, Text: "hello", Namespace: "ns"}},
		},
		{
			name: "given ids and one metadata object for all",
			inputs: map[string]any{"vectors": vecs([]float64{1, 0}, []float64{0, 1}), "ids": []string{"x", "y"},
				"metadata": map[string]any{"lang": "en"}, "source": "s"},
			wantIDs: []string{"x", "y"},
			want: []providers.Vector{
				{ID: "x", Values: []float32{1, 0}, Metadata: map[string]any{"lang": "en", "source": "s"}},
				{ID: "y", Values: []float32{0, 1}, Metadata: map[string]any{"lang": "en", "source": "s"}},
			},
		},
		{
			name: "metadata list keeps its own source",
			inputs: map[string]any{"vectors": vecs([]float64{1, 0}, []float64{0, 1}), "ids": []string{"x", "y"}, "source": "s",
				"metadata": []any{map[string]any{"source": "other", "page": 3.0}, nil}},
			wantIDs: []string{"x", "y"},
			want: []providers.Vector{
				{ID: "x", Values: []float32{1, 0}, Metadata: map[string]any{"source": "other", "page": 3.0}},
				{ID: "y", Values: []float32{0, 1}, Metadata: map[string]any{"source": "s"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := steptest.NewIndex(2)
			env := &steptest.Env{Indexes: map[string]*steptest.Index{"kb": idx}}
			res, err := upserter{}.Run(context.Background(), newCall(env, -1, tt.inputs))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(map[string]any{"count": len(tt.wantIDs), "ids": tt.wantIDs}, res.Output); d != "" {
				t.Errorf("output (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.want, stored(t, idx, tt.wantIDs...)); d != "" {
				t.Errorf("stored (-want +got):\n%s", d)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name    string
		inputs  map[string]any
		wantErr string
	}{
		{"dimension mismatch", map[string]any{"vectors": vecs([]float64{1, 0}, []float64{1, 0, 0}), "source": "s"},
			"vectors[1] has 3 dimensions but index kb has 2: embed with the model the index is made for, or change resources.kb.dimensions"},
		{"no way to derive ids", map[string]any{"vectors": vecs([]float64{1, 0})}, "cannot derive stable ids: give ids, source or texts"},
		{"texts too short", map[string]any{"vectors": vecs([]float64{1, 0}), "texts": []string{}}, "texts has 0 entries for 1 vectors"},
		{"ids too long", map[string]any{"vectors": vecs([]float64{1, 0}), "ids": []string{string(make([]byte, 65))}}, "ids[0]: an id must be 1 to 64 bytes, got 65"},
		{"metadata count", map[string]any{"vectors": vecs([]float64{1, 0}), "source": "s", "metadata": []any{}}, "metadata has 0 entries for 1 vectors"},
		{"metadata not an object", map[string]any{"vectors": vecs([]float64{1, 0}), "source": "s", "metadata": "x"}, `metadata: expected an object or a list of objects, got the string "x"`},
		{"one flat vector", map[string]any{"vectors": []any{1.0, 0.0}, "source": "s"},
			"vectors[0]: expected a list of numbers, got a number: vectors takes a list of vectors (write [ ${ … } ] for one)"},
		{"not numbers", map[string]any{"vectors": []any{[]any{"a", 1.0}}, "source": "s"}, `vectors[0]: expected a list of numbers, element 0 is the string "a"`},
		{"empty vector", map[string]any{"vectors": []any{[]any{}}, "source": "s"}, "vectors[0]: a vector is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := steptest.NewIndex(2)
			env := &steptest.Env{Indexes: map[string]*steptest.Index{"kb": idx}}
			_, err := upserter{}.Run(context.Background(), newCall(env, -1, tt.inputs))
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if info, _ := idx.Info(context.Background()); info.Count != 0 {
				t.Errorf("index has %d vectors after a failed upsert", info.Count)
			}
		})
	}
}

// TestRerunOverwrites checks that derived ids make a second run replace the first.
func TestRerunOverwrites(t *testing.T) {
	idx := steptest.NewIndex(2)
	env := &steptest.Env{Indexes: map[string]*steptest.Index{"kb": idx}}
	for _, v := range [][]float64{{1, 0}, {0, 1}} {
		in := map[string]any{"vectors": vecs(v, v), "texts": []string{"a", "b"}, "source": "doc.md"}
		if _, err := (upserter{}).Run(context.Background(), newCall(env, -1, in)); err != nil {
			t.Fatal(err)
		}
	}
	info, _ := idx.Info(context.Background())
	if info.Count != 2 {
		t.Fatalf("index holds %d vectors after two runs, want 2", info.Count)
	}
	if got := stored(t, idx, id("doc.md:0"))[0].Values; !cmp.Equal(got, []float32{0, 1}) {
		t.Errorf("second run did not overwrite: %v", got)
	}
}

func TestRunBatch(t *testing.T) {
	idx := steptest.NewIndex(2)
	env := &steptest.Env{Indexes: map[string]*steptest.Index{"kb": idx}}
	calls := []*steps.Call{
		newCall(env, 0, map[string]any{"vectors": vecs([]float64{1, 0}), "source": "a"}),
		newCall(env, 1, map[string]any{"vectors": vecs(), "source": "b"}),
		newCall(env, 2, map[string]any{"vectors": vecs([]float64{0, 1}, []float64{1, 1}), "source": "c"}),
	}
	res, err := upserter{}.RunBatch(context.Background(), calls)
	if err != nil {
		t.Fatal(err)
	}
	var got []any
	for _, r := range res {
		got = append(got, r.Output)
	}
	want := []any{
		map[string]any{"count": 1, "ids": []string{id("a:0")}},
		map[string]any{"count": 0, "ids": []string{}},
		map[string]any{"count": 2, "ids": []string{id("c:0"), id("c:1")}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outputs (-want +got):\n%s", d)
	}
	if n := idx.Upserts(); n != 1 {
		t.Errorf("batch made %d writes, want 1", n)
	}

	bad := append(calls[:1:1], newCall(env, 5, map[string]any{"vectors": vecs([]float64{1}), "source": "d"}))
	if _, err := (upserter{}).RunBatch(context.Background(), bad); err == nil || err.Error() != "item 5: vectors[0] has 1 dimensions but index kb has 2: embed with the model the index is made for, or change resources.kb.dimensions" {
		t.Errorf("bad batch error = %v", err)
	}
}

func TestDedupe(t *testing.T) {
	in := []providers.Vector{{ID: "a", Text: "1"}, {ID: "b"}, {ID: "a", Text: "2"}}
	want := []providers.Vector{{ID: "b"}, {ID: "a", Text: "2"}}
	if d := cmp.Diff(want, dedupe(in)); d != "" {
		t.Errorf("dedupe (-want +got):\n%s", d)
	}
}

func TestUnknownIndex(t *testing.T) {
	env := &steptest.Env{}
	_, err := upserter{}.Run(context.Background(), newCall(env, -1, map[string]any{"vectors": vecs([]float64{1}), "source": "s"}))
	if err == nil || err.Error() != `"kb" is not a vector-index resource` {
		t.Errorf("error = %v", err)
	}
}
