package temporal_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/engine/temporal"
	"github.com/aiflow/aiflow/providers/fake"
)

// sampledFlow is a for_each of uncached generations (no temperature: sampling), whose
// answers live only in their item records.
const sampledFlow = `
aiflow: 1
name: sampled
providers:
  f: { kind: fake }
steps:
  ask:
    uses: generate
    model: f:m
    for_each: [a, b, c, d, e]
    prompt: ${ each.value }
`

// TestExecItemsRecordsEachAnswerAtOnce: an item activity writes each answer's record
// before the next call starts (not at the recorder's next group commit or the end of the
// activity), so a worker killed mid-activity leaves every answer it was paid for to the
// retried activity, which reuses it.
func TestExecItemsRecordsEachAnswerAtOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := fake.New()
	compile := compiler(p)
	bl, err := temporal.WriteBundle(dir, temporal.Bundle{FlowFile: "flow.yaml", Source: []byte(sampledFlow)})
	if err != nil {
		t.Fatal(err)
	}
	ref := temporal.Ref{RunID: store.NewRunID(), StateDir: dir, Bundle: bl}
	acts := &temporal.Activities{Compile: compile}
	defer acts.Close()
	plan, err := acts.Prepare(ctx, ref, "ask")
	if err != nil {
		t.Fatal(err)
	}
	if plan.Items != 5 {
		t.Fatalf("plan has %d items, want 5", plan.Items)
	}
	reader, err := store.Open(dir) // another connection, as another worker would read
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var missing []string
	p.Fail = func(model string, n int) error {
		recs, err := reader.Steps(ctx, ref.RunID)
		if err != nil {
			return err
		}
		done := 0
		for _, r := range recs {
			if r.StepID == "ask" && r.Item >= 0 && r.Status == engine.StatusSucceeded {
				done++
			}
		}
		if done < n-1 {
			missing = append(missing, fmt.Sprintf("call %d found %d of the %d answers before it recorded", n, done, n-1))
		}
		return nil
	}
	sum, err := acts.ExecItems(ctx, ref, "ask", []int{0, 1, 2, 3, 4})
	if err != nil || sum.Error != "" {
		t.Fatalf("ExecItems: %v %+v", err, sum)
	}
	for _, m := range missing {
		t.Error(m)
	}
	// A retried activity (the worker was lost after the calls) pays for nothing again.
	before := p.Calls("m")
	if _, err := acts.ExecItems(ctx, ref, "ask", []int{0, 1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	if got := p.Calls("m"); got != before {
		t.Errorf("the retried activity made %d calls, want 0", got-before)
	}
}
