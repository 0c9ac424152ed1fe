package infra

import (
	"context"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	_ "github.com/aiflow/aiflow/providers/vectorize"
)

// TestVectorizeIndex applies a vector-index on the vectorize backend against the
// emulator: create with a metadata index, no-op, replace on new dimensions, destroy.
func TestVectorizeIndex(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	index := func(dims int, metric string) string {
		return cfProvider + "resources:\n  kb:\n    kind: vector-index\n    backend: vectorize\n    provider: cf\n    dimensions: " +
			strconv.Itoa(dims) + "\n    metric: " + metric + "\n    metadata_indexes: { source: string }\n" + noopStep
	}
	h.write("v1.yaml", index(32, "cosine"))
	h.write("v2.yaml", index(64, "cosine"))
	v1 := h.flow("v1.yaml")
	if p := h.apply(v1); actions(p)["kb"] != ActionCreate {
		t.Fatalf("first apply: %v", actions(p))
	}
	stats, ok := h.cf.Vectorize().Stats("kb")
	want := map[string]string{"source": "string"}
	if !ok || stats.Dimensions != 32 || stats.Metric != "cosine" || !cmp.Equal(want, stats.MetadataIndexes) {
		t.Fatalf("emulated index = %+v, %v", stats, ok)
	}
	if p := h.plan(v1); p.Changes {
		t.Errorf("plan after apply: %v", actions(p))
	}
	h.remove("v1.yaml") // v2.yaml is the edited v1.yaml
	p := h.plan(h.flow("v2.yaml"))
	c := p.Resources[0]
	if c.Action != ActionReplace || len(c.Attributes) != 1 || c.Attributes[0].Name != "dimensions" || !c.Attributes[0].ForcesReplacement {
		t.Fatalf("plan with new dimensions: %s %+v", c.Action, c.Attributes)
	}
	h.apply(h.flow("v2.yaml"))
	if stats, _ := h.cf.Vectorize().Stats("kb"); stats.Dimensions != 64 {
		t.Errorf("after replace: %+v", stats)
	}
	if _, err := Destroy(ctx, h.flow("v2.yaml"), h.st, h.opts(), nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.cf.Vectorize().Stats("kb"); ok {
		t.Error("index still exists after destroy")
	}
}
