package localindex

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
)

var words = []string{"vector", "index", "search", "cloud", "flare", "durable", "crash", "graph", "keyword", "hybrid", "rank", "fusion"}

func randText(r *rand.Rand) string {
	n := 3 + r.IntN(12)
	s := ""
	for i := range n {
		if i > 0 {
			s += " "
		}
		s += words[r.IntN(len(words))]
	}
	return s
}

func TestKeywordSearchTracksWrites(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec(8, metricCosine)
	r := rand.New(rand.NewPCG(51, 52))
	vs := randVectors(r, "v", 200, 8)
	for i := range vs {
		vs[i].Text = randText(r)
	}
	x := mustOpen(t, dir, spec)
	mustUpsert(t, x, vs)
	// Rewrite some texts, delete some ids: the inverted index must follow.
	for i := 0; i < 40; i++ {
		vs[i].Text = randText(r)
	}
	mustUpsert(t, x, vs[:40])
	x.DeleteByIDs(ctx, []string{"v50", "v51", "v52"})
	q := providers.VectorQuery{Mode: providers.ModeKeyword, Text: "Crash GRAPH, fusion!", TopK: 15, Namespace: "a"}
	before, err := x.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 15 {
		t.Fatalf("got %d keyword matches, want 15", len(before))
	}
	for _, m := range before {
		if m.Namespace != "a" || m.ID == "v51" {
			t.Errorf("match %s in namespace %q: deleted or outside the query's namespace", m.ID, m.Namespace)
		}
	}
	x.Close()
	y := mustOpen(t, dir, spec)
	after, err := y.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("keyword results differ after the rebuild on open (-before +after):\n%s", diff)
	}
}

// hybridSim is the reference [0,1] similarity of a vector-mode score for hybrid fusion.
func hybridSim(metric string, score float64) float64 {
	if metric == metricEuclidean {
		return 1 / (1 + score)
	}
	return min(1, max(0, score))
}

func TestHybridIsConvexCombinationOfNormalisedScores(t *testing.T) {
	for _, metric := range []string{metricCosine, metricEuclidean, metricDot} {
		t.Run(metric, func(t *testing.T) {
			r := rand.New(rand.NewPCG(61, 62))
			x := mustOpen(t, t.TempDir(), testSpec(8, metric))
			const n = 300
			vs := randVectors(r, "v", n, 8)
			for i := range vs {
				vs[i].Text = randText(r)
			}
			mustUpsert(t, x, vs)
			q := randVec(r, 8)
			const k, depth, text = 10, 50, "durable hybrid"
			vec, _ := x.Query(ctx, providers.VectorQuery{Vector: q, TopK: n})
			kw, _ := x.Query(ctx, providers.VectorQuery{Mode: providers.ModeKeyword, Text: text, TopK: n})
			vecScore, kwScore, candidate := map[string]float64{}, map[string]float64{}, map[string]bool{}
			for rank, m := range vec {
				vecScore[m.ID] = hybridSim(metric, m.Score)
				candidate[m.ID] = candidate[m.ID] || rank < depth
			}
			for rank, m := range kw {
				kwScore[m.ID] = m.Score
				candidate[m.ID] = candidate[m.ID] || rank < depth
			}
			var want []refHit
			for id := range candidate {
				want = append(want, refHit{id, hybridVectorWeight*vecScore[id] + (1-hybridVectorWeight)*kwScore[id]})
			}
			sort.Slice(want, func(i, j int) bool {
				if want[i].score != want[j].score {
					return want[i].score > want[j].score
				}
				return want[i].id < want[j].id
			})
			got, err := x.Query(ctx, providers.VectorQuery{Mode: providers.ModeHybrid, Vector: q, Text: text, TopK: k})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want[:k], toRef(got), cmpHits); diff != "" {
				t.Errorf("(-reference fusion +index):\n%s", diff)
			}
			for _, m := range got {
				if m.Score < 0 || m.Score > 1 {
					t.Errorf("hybrid score of %s is %v, outside [0, 1]", m.ID, m.Score)
				}
			}
		})
	}
}

// TestKeywordScoresAreNormalised checks that keyword scores are BM25 divided by the query's
// self-score: 1 for a document that is exactly the query (all documents of equal length),
// in (0, 1) for partial matches, and lower when the query has words no document holds.
func TestKeywordScoresAreNormalised(t *testing.T) {
	x := mustOpen(t, t.TempDir(), testSpec(4, metricCosine))
	texts := []string{"durable hybrid fusion", "durable crash graph", "cloud flare index", "vector search rank"}
	vs := make([]providers.Vector, len(texts))
	for i, tx := range texts {
		vs[i] = providers.Vector{ID: fmt.Sprint("d", i), Values: []float32{1, float32(i), 0, 1}, Text: tx}
	}
	mustUpsert(t, x, vs)
	score := func(q string) map[string]float64 {
		ms, err := x.Query(ctx, providers.VectorQuery{Mode: providers.ModeKeyword, Text: q, TopK: 10})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, m := range ms {
			out[m.ID] = m.Score
		}
		return out
	}
	full := score("Durable hybrid fusion?")
	if math.Abs(full["d0"]-1) > 1e-9 {
		t.Errorf("exact match scores %v, want 1", full["d0"])
	}
	if s := full["d1"]; s <= 0 || s >= 0.5 {
		t.Errorf("one-term match scores %v, want in (0, 0.5)", s)
	}
	if unseen := score("durable hybrid fusion unicorn")["d0"]; unseen >= full["d0"] || unseen <= 0 {
		t.Errorf("adding a word no document holds moved the score from %v to %v; want lower and positive", full["d0"], unseen)
	}
}
