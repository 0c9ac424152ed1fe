package engine_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/providers/fake"
)

// TestResourceScopeOwnNameWins: ${ resources.x.name } and .kind are the resource's own
// name and kind even when a setting is called name (a prompt's name: is the prompt's
// name in its table), since steps that take a resource open it by that name.
func TestResourceScopeOwnNameWins(t *testing.T) {
	fl := fakeFlow(t, fake.New(), `
aiflow: 1
resources:
  db:
    kind: database
  greet:
    kind: prompt
    database: ${ resources.db }
    name: greeting-v2
    system: Say hello.
steps:
  ref:
    uses: transform
    with:
      expr: ${ [resources.greet.name, resources.greet.kind, resources.greet.system] }
outputs:
  ref: ${ steps.ref.output.value }
`)
	res, err := fl.Run(context.Background(), engine.RunOptions{Store: openStore(t), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Outputs["ref"]
	if d := cmp.Diff([]any{"greet", "prompt", "Say hello."}, got); d != "" {
		t.Errorf("resources.greet (-want +got):\n%s", d)
	}
}
