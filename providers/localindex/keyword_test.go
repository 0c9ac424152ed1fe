package localindex

import (
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

func TestHybridIsReciprocalRankFusion(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	x := mustOpen(t, t.TempDir(), testSpec(8, metricEuclidean))
	vs := randVectors(r, "v", 300, 8)
	for i := range vs {
		vs[i].Text = randText(r)
	}
	mustUpsert(t, x, vs)
	q := randVec(r, 8)
	const k, depth = 10, 50
	vec, _ := x.Query(ctx, providers.VectorQuery{Vector: q, TopK: depth})
	kw, _ := x.Query(ctx, providers.VectorQuery{Mode: providers.ModeKeyword, Text: "durable hybrid", TopK: depth})
	fused := map[string]float64{}
	for _, l := range [][]providers.Match{vec, kw} {
		for rank, m := range l {
			fused[m.ID] += 1 / float64(60+rank+1)
		}
	}
	var want []refHit
	for id, s := range fused {
		want = append(want, refHit{id, s})
	}
	sort.Slice(want, func(i, j int) bool {
		if want[i].score != want[j].score {
			return want[i].score > want[j].score
		}
		return want[i].id < want[j].id
	})
	got, err := x.Query(ctx, providers.VectorQuery{Mode: providers.ModeHybrid, Vector: q, Text: "durable hybrid", TopK: k})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[:k], toRef(got), cmpHits); diff != "" {
		t.Errorf("(-reference fusion +index):\n%s", diff)
	}
	if len(vec) != depth || len(kw) != depth {
		t.Fatalf("fusion inputs have %d and %d results, want %d each", len(vec), len(kw), depth)
	}
}
