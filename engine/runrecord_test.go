package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// runRecordFlow has a local step and then a paid one.
const runRecordFlow = `
aiflow: 1
providers:
  cf:
    kind: workers-ai
    account_id: ` + wiretest.CloudflareAccount + `
    api_token: ${ env("CF_TOKEN") }
    base_url: %s
steps:
  question:
    uses: transform
    with:
      expr: ${ "What is the capital of France?" }
  answer:
    uses: generate
    model: cf:@cf/meta/llama-3.1-8b-instruct
    prompt: ${ steps.question.output.value }
outputs:
  answer: ${ steps.answer.output.text }
`

// TestRunTheStoreCannotRecordPaysNothing: a new run is created in the store by its first
// write, which a small flow's steps share; a step that calls a provider waits for that
// write. When the store refuses the run (here: its ID is taken), nothing is paid and the
// run that holds the ID keeps its records.
func TestRunTheStoreCannotRecordPaysNothing(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	fl := e2eFlow(t, fmt.Sprintf(runRecordFlow, cf.APIBase()), map[string]string{"CF_TOKEN": cf.Token()})
	st, err := store.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	t0 := time.Unix(1700000000, 0)
	if err := st.CreateRun(ctx, store.Run{ID: "taken", Flow: "other.yaml", StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutStep(ctx, store.StepRecord{RunID: "taken", StepID: "kept", Item: store.WholeStep, Status: store.StepSucceeded, StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	_, err = fl.Run(ctx, engine.RunOptions{Store: st, RunID: "taken"})
	if err == nil || !strings.Contains(err.Error(), "recording run") || !errors.Is(err, store.ErrExists) {
		t.Errorf("Run with a taken run ID: err = %v; want a recording error wrapping ErrExists", err)
	}
	if n := cf.Count(); n != 0 {
		t.Errorf("the provider got %d requests from a run the store could not record; want 0", n)
	}
	recs, err := st.Steps(ctx, "taken")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].StepID != "kept" {
		t.Errorf("the run holding the ID has records %+v; want only its own step kept", recs)
	}
	r, err := st.GetRun(ctx, "taken")
	if err != nil {
		t.Fatal(err)
	}
	if r.Flow != "other.yaml" || r.Status != store.RunRunning {
		t.Errorf("the run holding the ID became %+v", r)
	}
}

// TestSmallRunRecordsEverything: a small flow of local steps is created, recorded and
// finished in one write, and reads back like any run; a resume then rewrites records of
// the run, each step keeping one.
func TestSmallRunRecordsEverything(t *testing.T) {
	src := "aiflow: 1\nvars:\n  i: { type: integer, default: 5 }\nsteps:\n"
	for i := range 5 {
		src += fmt.Sprintf("  s%d:\n    uses: transform\n    with:\n      expr: ${ %d * 2 }\n", i, i)
	}
	src += "  skipped:\n    uses: transform\n    when: ${ false }\n    with:\n      expr: 1\n"
	src += "  pick:\n    uses: transform\n    with:\n      expr: ${ [10, 20][vars.i] }\n"
	src += "outputs:\n  last: ${ steps.s4.output.value }\n"
	fl := e2eFlow(t, src, nil)
	st, err := store.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	res, err := fl.Run(ctx, engine.RunOptions{Store: st})
	if err == nil {
		t.Fatal("the first run succeeded; want step pick to fail (index 5 of 2)")
	}
	r, err := st.GetRun(ctx, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.RunFailed || !strings.Contains(r.Error, "pick") {
		t.Errorf("run recorded as %s (%q); want failed at pick", r.Status, r.Error)
	}
	want := map[string]string{"skipped": "skipped ", "pick": "failed "}
	for i := range 5 {
		want[fmt.Sprint("s", i)] = fmt.Sprintf(`succeeded {"value":%d}`, i*2)
	}
	checkRecords := func(when string) {
		t.Helper()
		recs, err := st.Steps(ctx, res.RunID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, rec := range recs {
			if _, dup := got[rec.StepID]; dup {
				t.Errorf("%s: step %s recorded twice", when, rec.StepID)
			}
			got[rec.StepID] = rec.Status + " " + string(rec.Output)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: records read back:\n got %v\nwant %v", when, got, want)
		}
	}
	checkRecords("first run")
	if _, err := fl.Run(ctx, engine.RunOptions{Store: st, Resume: res.RunID, Vars: map[string]any{"i": 1}}); err != nil {
		t.Fatal(err)
	}
	want["pick"] = `succeeded {"value":20}`
	for i := range 5 { // reused from the first run
		want[fmt.Sprint("s", i)] = fmt.Sprintf(`cached {"value":%d}`, i*2)
	}
	checkRecords("after the resume")
}
