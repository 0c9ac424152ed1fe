package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/providers/fake"
)

const incrementalFlow = `
aiflow: 1
providers:
  f: { kind: fake }
steps:
  chunks:
    uses: chunk
    with:
      text: "First paragraph about tides.\n\nSecond paragraph about the moon."
      size: 20
  summary:
    uses: generate
    model: f:writer
    prompt: 'Summarise: ${ join(steps.chunks.output.texts, " ") }'
    params: { temperature: 0 }
  title:
    uses: generate
    model: f:writer
    prompt: 'Title for: ${ steps.summary.output.text }'
    params: { temperature: 0 }
  keywords:
    uses: generate
    model: f:tagger
    prompt: 'Keywords: ${ join(steps.chunks.output.texts, " ") }'
    params: { temperature: 0 }
  creative:
    uses: generate
    model: f:writer
    prompt: Write a poem.
    params: { temperature: 0.9 }
  report:
    uses: transform
    with:
      expr: ${ steps.title.output.text + " / " + steps.keywords.output.text }
outputs:
  report: ${ steps.report.output.value }
`

// planText renders the parts of a plan that do not depend on time.
func planText(p *engine.Plan) string {
	var b strings.Builder
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "%-9s %-8s %-20s %s\n", s.ID, s.Uses, s.Action, s.Reason)
	}
	fmt.Fprintf(&b, "changes: %v\n", p.Changes)
	return b.String()
}

func checkPlanGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "plan", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- want\n%s--- got\n%s", path, want, got)
	}
}

func TestIncrementalPlan(t *testing.T) {
	p := fake.New()
	st := openStore(t)
	fl := fakeFlow(t, p, incrementalFlow)
	ctx := context.Background()

	before, err := fl.Plan(ctx, engine.PlanOptions{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	checkPlanGolden(t, "incremental-fresh", planText(before))

	if _, err := fl.Run(ctx, engine.RunOptions{Store: st}); err != nil {
		t.Fatal(err)
	}
	after, err := fl.Plan(ctx, engine.PlanOptions{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	checkPlanGolden(t, "incremental-after-run", planText(after))

	edited := fakeFlow(t, p, strings.Replace(incrementalFlow, "'Summarise: ", "'Summarise briefly: ", 1))
	changed, err := edited.Plan(ctx, engine.PlanOptions{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	checkPlanGolden(t, "incremental-prompt-edit", planText(changed))
	calls := p.Calls("writer") + p.Calls("tagger")
	if calls != 4 {
		t.Errorf("planning called models: %d calls after one run of 4 model steps", calls)
	}
}

// TestPlanSearchWithoutModel: a search step that names no model (it embeds with its
// index's embedder) plans instead of panicking on the missing model.
func TestPlanSearchWithoutModel(t *testing.T) {
	fl := fileFlow(t, "../examples/flows/rag-query.yaml", nil)
	p, err := fl.Plan(context.Background(), engine.PlanOptions{Store: openStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Steps) == 0 || p.Steps[0].ID != "hits" || p.Steps[0].Model != "" {
		t.Errorf("plan steps = %+v", p.Steps)
	}
}
