package engine_test

import (
	"context"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers/fake"
)

const retriedFlow = `
aiflow: 1
providers:
  f: { kind: fake }
steps:
  answer:
    uses: generate
    model: f:small
    for_each: ${ ["a", "b"] }
    prompt: ${ each.value }
    retry: { attempts: 3, backoff: 1ms }
`

// TestRetriesRecordedAsRunEvents checks that each retried attempt is kept in the run's
// events with its step, item, attempt and error class, for the run viewer's timeline
// (issue 15): the steps table keeps only the final attempt count.
func TestRetriesRecordedAsRunEvents(t *testing.T) {
	p := fake.New()
	p.Fail = func(m string, n int) error {
		if n <= 2 { // the first two calls fail (whichever items they are)
			return fake.RateLimited(m)
		}
		return nil
	}
	fl := fakeFlow(t, p, retriedFlow)
	st := openStore(t)
	res, err := fl.Run(context.Background(), engine.RunOptions{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	evs, total, err := st.RunEvents(context.Background(), res.RunID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 || len(evs) != 2 {
		t.Fatalf("events = %d (%+v), want the 2 retries", total, evs)
	}
	for i, e := range evs {
		if e.Kind != store.EventRetry || e.StepID != "answer" || e.Item < 0 || e.Attempt < 1 || e.Class != "rate_limit" || e.At.IsZero() || e.Seq != int64(i+1) {
			t.Errorf("event %d = %+v, want a rate_limit retry of an item of answer", i, e)
		}
	}
}
