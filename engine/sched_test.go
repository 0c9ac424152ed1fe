package engine_test

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/internal/flowgen"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/transform"
)

// goroutineCounter is an executor that notes which goroutine ran each call.
type goroutineCounter struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (g *goroutineCounter) Execute(ctx context.Context, s steps.Step, call *steps.Call) (steps.Result, error) {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := bytes.Cut(bytes.TrimPrefix(buf, []byte("goroutine ")), []byte(" "))
	g.mu.Lock()
	g.ids[string(id)] = true
	g.mu.Unlock()
	return engine.InProcess{}.Execute(ctx, s, call)
}

// TestStepsRunOnReusedGoroutines is issue 18: every step ran on a goroutine of its own,
// whose stack grew afresh through the evaluator and the store; copying stacks was a fifth
// of a small flow's cost. Steps now run on a pool of at most the run's parallelism.
func TestStepsRunOnReusedGoroutines(t *testing.T) {
	tests := []struct {
		name        string
		src         string
		parallelism int
		most        int
	}{
		{"chain of 60", flowgen.Chain(60), 4, 1},
		{"60 independent steps", flowgen.Wide(60), 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := steps.NewRegistry()
			reg.Register(transform.Kind)
			f, diags := spec.Parse("flow.yaml", []byte(tt.src))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			fl, diags := engine.Compile(f, engine.Options{Steps: reg, Providers: providers.NewRegistry()})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			st, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			g := &goroutineCounter{ids: map[string]bool{}}
			res, err := fl.Run(context.Background(), engine.RunOptions{Store: st, Executor: g, Parallelism: tt.parallelism})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Steps) != 60 {
				t.Fatalf("%d step results, want 60", len(res.Steps))
			}
			if len(g.ids) > tt.most {
				t.Errorf("steps ran on %d goroutines, want at most %d", len(g.ids), tt.most)
			}
		})
	}
}
