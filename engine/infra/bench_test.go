package infra

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkPlanLocal plans a flow of 20 applied local resources (10 databases with a
// migration each, 10 vector indexes): the refresh cost of `aiflow plan` and of the check
// before a run.
func BenchmarkPlanLocal(b *testing.B) {
	h := newHarness(b)
	h.write("m/001.sql", "CREATE TABLE t (x);")
	h.write("flow.yaml", benchFlow(10))
	fl := h.flow("flow.yaml")
	h.apply(fl)
	b.ResetTimer()
	for range b.N {
		p, err := NewPlan(context.Background(), fl, h.st, h.opts())
		if err != nil || p.Changes {
			b.Fatalf("plan: %v", err)
		}
	}
}

func benchFlow(n int) string {
	var r strings.Builder
	r.WriteString(cfProvider + "resources:\n")
	for i := range n {
		fmt.Fprintf(&r, "  db%d: { kind: database, migrations: m }\n  kb%d: { kind: vector-index, dimensions: 64 }\n", i, i)
	}
	return r.String() + noopStep
}
