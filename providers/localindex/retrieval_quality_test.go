package localindex_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/local"
	"github.com/aiflow/aiflow/providers/localindex"
)

// TestRetrievalQualityVectorVsHybrid indexes the sample documents (paragraph chunks) with
// the local lexical embedder and the local index, then measures recall@5 on the labelled
// queries of providers/local/testdata/retrieval for vector, keyword (BM25) and hybrid
// (convex combination of normalised scores) search. It reports all three and asserts floors just below
// what they measure, so a regression in any of them fails.
func TestRetrievalQualityVectorVsHybrid(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join("..", "..")
	files, _ := filepath.Glob(filepath.Join(root, "examples", "flows", "data", "*.md"))
	var ids, texts []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		stem, n := strings.TrimSuffix(filepath.Base(f), ".md"), 0
		for _, p := range strings.Split(string(b), "\n\n") {
			if p = strings.TrimSpace(p); p == "" || strings.HasPrefix(p, "#") {
				continue
			}
			n++
			ids, texts = append(ids, stem+"#"+strconv.Itoa(n)), append(texts, p)
		}
	}
	var qf struct {
		Queries []struct {
			Query    string   `json:"query"`
			Relevant []string `json:"relevant"`
		} `json:"queries"`
	}
	b, err := os.ReadFile(filepath.Join(root, "providers", "local", "testdata", "retrieval", "queries.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &qf); err != nil {
		t.Fatal(err)
	}
	if len(ids) < 100 || len(qf.Queries) < 30 {
		t.Fatalf("%d chunks and %d queries; the set needs at least 100 and 30", len(ids), len(qf.Queries))
	}
	p, err := local.New(providers.Config{Name: "local", Kind: local.Kind})
	if err != nil {
		t.Fatal(err)
	}
	emb := p.(providers.Embedder)
	er, err := emb.Embed(ctx, providers.EmbedRequest{Texts: texts})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := localindex.Open(t.TempDir(), providers.IndexSpec{Name: "kb", Backend: "local", Dimensions: er.Dimensions, Metric: "cosine"})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	vecs := make([]providers.Vector, len(ids))
	for i := range ids {
		vecs[i] = providers.Vector{ID: ids[i], Values: er.Vectors[i], Text: texts[i]}
	}
	if _, err := idx.Upsert(ctx, vecs); err != nil {
		t.Fatal(err)
	}
	recall := map[string]float64{}
	for _, mode := range []string{providers.ModeVector, providers.ModeKeyword, providers.ModeHybrid} {
		hits := 0
		for _, q := range qf.Queries {
			qv, err := emb.Embed(ctx, providers.EmbedRequest{Texts: []string{q.Query}})
			if err != nil {
				t.Fatal(err)
			}
			ms, err := idx.Query(ctx, providers.VectorQuery{Vector: qv.Vectors[0], Text: q.Query, Mode: mode, TopK: 5})
			if err != nil {
				t.Fatal(err)
			}
			if anyRelevant(ms, q.Relevant) {
				hits++
			}
		}
		recall[mode] = float64(hits) / float64(len(qf.Queries))
	}
	t.Logf("recall@5 over %d queries, %d chunks: vector %.3f, keyword (BM25) %.3f, hybrid %.3f",
		len(qf.Queries), len(ids), recall[providers.ModeVector], recall[providers.ModeKeyword], recall[providers.ModeHybrid])
	floors := map[string]float64{providers.ModeVector: 0.93, providers.ModeKeyword: 0.93, providers.ModeHybrid: 0.94}
	for mode, floor := range floors {
		if recall[mode] < floor {
			t.Errorf("%s recall@5 %.3f is below its floor %.2f", mode, recall[mode], floor)
		}
	}
}

func anyRelevant(ms []providers.Match, relevant []string) bool {
	for _, m := range ms {
		for _, r := range relevant {
			if m.ID == r {
				return true
			}
		}
	}
	return false
}
