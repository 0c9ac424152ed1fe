package vectorize_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/vectorize"
	"github.com/aiflow/aiflow/providers/wiretest"
)

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	cf := wiretest.NewCloudflare(t)
	b := newBackend(t, cf, nil)
	kb := spec("kb", 4, "euclidean", map[string]string{"source": "string", "year": "number"}, map[string]any{"description": "docs"})

	if _, ok, err := b.Describe(ctx, kb); err != nil || ok {
		t.Fatalf("Describe before create: ok=%v err=%v, want not found", ok, err)
	}
	_, err := b.Open(ctx, kb, false)
	wantErr(t, err, `vectorize index "kb"`, "does not exist", "aiflow apply")

	x, err := b.Open(ctx, kb, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Upsert(ctx, []providers.Vector{vec("a", []float32{1, 2, 3, 4}, "source", "a.md")}); err != nil {
		t.Fatal(err)
	}
	info, ok, err := b.Describe(ctx, kb)
	if err != nil || !ok {
		t.Fatalf("Describe after create: ok=%v err=%v", ok, err)
	}
	want := providers.IndexInfo{Dimensions: 4, Metric: "euclidean", Count: 1,
		MetadataIndexes: map[string]string{"source": "string", "year": "number"}}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
	if got, err := x.Info(ctx); err != nil || !cmp.Equal(got, want) {
		t.Errorf("Info = %+v, %v; want %+v", got, err, want)
	}
	creates := count(cf, "POST", "/metadata_index/create")
	if _, err := b.Open(ctx, kb, false); err != nil {
		t.Errorf("reopening without create: %v", err)
	}
	if _, err := b.Open(ctx, kb, true); err != nil || count(cf, "POST", "/metadata_index/create") != creates {
		t.Errorf("reopening with create: err %v, metadata indexes created again: %d → %d", err, creates, count(cf, "POST", "/metadata_index/create"))
	}

	if err := b.Delete(ctx, kb); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.Describe(ctx, kb); ok {
		t.Error("index still described after Delete")
	}
	if err := b.Delete(ctx, kb); err != nil {
		t.Errorf("deleting a missing index: %v", err)
	}
}

func TestOpenMismatch(t *testing.T) {
	ctx := context.Background()
	cf := wiretest.NewCloudflare(t)
	b := newBackend(t, cf, nil)
	open(t, b, spec("kb", 4, "cosine", map[string]string{"source": "string"}, nil))
	tests := []struct {
		name   string
		spec   providers.IndexSpec
		create bool
		want   []string
	}{
		{"dimensions", spec("kb", 8, "cosine", nil, nil), true, []string{"has 4 dimensions and metric cosine", "declares 8 and cosine", "delete and recreate"}},
		{"metric", spec("kb", 4, "dot-product", nil, nil), true, []string{"declares 4 and dot-product"}},
		{"metadata index type", spec("kb", 4, "cosine", map[string]string{"source": "number"}, nil), true, []string{`metadata index "source" has type string`}},
		{"missing metadata index without create", spec("kb", 4, "cosine", map[string]string{"year": "number"}, nil), false, []string{`metadata index "year" is missing`, "aiflow apply"}},
		{"bad metric", spec("kb", 4, "manhattan", nil, nil), true, []string{`metric "manhattan"`}},
		{"too many dimensions", spec("kb", 1537, "cosine", nil, nil), true, []string{"dimensions must be from 1 to 1536"}},
		{"bad name", spec("k/b", 4, "cosine", nil, nil), true, []string{`name "k/b"`}},
		{"bad metadata type", spec("kb", 4, "cosine", map[string]string{"d": "date"}, nil), true, []string{`type "date"`}},
		{"bad batch_size", spec("kb", 4, "cosine", nil, map[string]any{"batch_size": 5001}), true, []string{"batch_size"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.Open(ctx, tt.spec, tt.create)
			wantErr(t, err, tt.want...)
		})
	}
	st, _ := cf.Vectorize().Stats("kb")
	if diff := cmp.Diff(map[string]string{"source": "string"}, st.MetadataIndexes); diff != "" {
		t.Errorf("failed opens changed metadata indexes (-want +got):\n%s", diff)
	}
}

func TestOpenWaitsForMetadataIndexes(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.Vectorize().SetLag(wiretest.VectorizeLag{InfoPolls: 3})
	b := newBackend(t, cf, nil) // wait_for_mutation off: metadata indexes are waited for anyway
	x := open(t, b, spec("kb", 2, "cosine", map[string]string{"a": "string", "b": "boolean"}, nil))
	if n := count(cf, "GET", "/kb/info"); n != 3 {
		t.Errorf("Open polled /info %d times, want 3 (the lag)", n)
	}
	st, _ := cf.Vectorize().Stats("kb")
	if st.Pending != 0 || len(st.MetadataIndexes) != 2 {
		t.Fatalf("after Open: %+v, want both metadata indexes processed", st)
	}
	// So a write right after Open is filterable once processed.
	cf.Vectorize().SetLag(wiretest.VectorizeLag{})
	if _, err := x.Upsert(context.Background(), []providers.Vector{vec("v", []float32{1, 0}, "a", "x")}); err != nil {
		t.Fatal(err)
	}
	got, err := x.Query(context.Background(), providers.VectorQuery{Vector: []float32{1, 0}, Filter: map[string]any{"a": "x"}})
	if err != nil || !cmp.Equal(ids(got), []string{"v"}) {
		t.Errorf("filtered query = %v, %v; want [v]", ids(got), err)
	}
}

func TestRegistry(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	info, ok := providers.LookupIndexBackend("vectorize")
	if !ok {
		t.Fatal("vectorize backend not registered")
	}
	b, err := info.New(providers.IndexBackendConfig{
		Provider: lender{cf.Account(), cf.Token(), cf.APIBase()},
		Settings: map[string]any{"provider": "cf", "backend": "vectorize", "dimensions": 2, "rate_limit": "off"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(context.Background(), spec("kb", 2, "cosine", nil, nil), true); err != nil {
		t.Fatal(err)
	}
	if _, ok := cf.Vectorize().Stats("kb"); !ok {
		t.Error("index not created through the lent account")
	}
	if _, ok := b.(*vectorize.Backend); !ok {
		t.Errorf("registry built %T", b)
	}
}
