package localindex

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/aiflow/aiflow/providers"
)

// TestConcurrentUse runs writers and readers together (meant for -race): upserts,
// replacements, deletes and compactions against vector, keyword and filtered queries.
func TestConcurrentUse(t *testing.T) {
	for _, ann := range []string{"", "hnsw"} {
		t.Run("ann="+ann, func(t *testing.T) {
			seed, dim := 4500, 128 // past the graph threshold
			if raceEnabled {
				seed, dim = 2100, 256
			}
			spec := testSpec(dim, metricCosine)
			spec.ANN = ann
			dir := t.TempDir()
			x := mustOpen(t, dir, spec)
			r := rand.New(rand.NewPCG(81, 82))
			cs := centres(r, 50, dim)
			mustUpsert(t, x, clusteredVectors(r, cs, "seed", seed, 1.0))
			var wg sync.WaitGroup
			for w := range 2 {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(w), 83))
					for i := range 30 {
						vs := clusteredVectors(r, cs, fmt.Sprintf("w%d-", w), 50, 1.0)
						for j := range vs {
							vs[j].ID = fmt.Sprintf("w%d-%d", w, (i*50+j)%400)
							vs[j].Text = randText(r)
						}
						if _, err := x.Upsert(ctx, vs); err != nil {
							t.Error(err)
							return
						}
						x.DeleteByIDs(ctx, []string{fmt.Sprintf("seed%d", r.IntN(seed))})
						if i%10 == 9 {
							if err := x.Compact(); err != nil {
								t.Error(err)
							}
						}
					}
				})
			}
			for w := range 2 {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(w), 84))
					for range 60 {
						q := providers.VectorQuery{Vector: randVec(r, dim), TopK: 5, Text: "graph rank", ReturnMetadata: true}
						q.Mode = []string{providers.ModeVector, providers.ModeKeyword, providers.ModeHybrid}[r.IntN(3)]
						if r.IntN(2) == 0 {
							q.Filter = map[string]any{"cluster": map[string]any{"$lt": 25}}
						}
						if _, err := x.Query(ctx, q); err != nil {
							t.Error(err)
							return
						}
						x.GetByIDs(ctx, []string{"w0-1", "seed7"})
						x.Info(ctx)
					}
				})
			}
			wg.Wait()
			info, _ := x.Info(ctx)
			x.Close()
			y := mustOpen(t, dir, spec)
			again, _ := y.Info(ctx)
			if again.Count != info.Count {
				t.Errorf("count %d after reopen, %d before", again.Count, info.Count)
			}
		})
	}
}
