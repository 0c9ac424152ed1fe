package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// rateWaitFlow calls Workers AI for two items while its rate limit admits one request a
// minute: the second call has to wait.
const rateWaitFlow = `
aiflow: 1
name: slow
providers:
  cf:
    kind: workers-ai
    account_id: ` + wiretest.CloudflareAccount + `
    api_token: ${ env("CF_TOKEN") }
    base_url: %s
    rate_limit: { generate: 1, burst: 1 }
steps:
  ask:
    uses: generate
    model: cf:@cf/meta/llama-3.1-8b-instruct
    for_each: ${ ["one", "two"] }
    prompt:
      user: ${ each.value }
`

// TestRateWaitEvent checks that a call the provider's rate limiter holds is reported to
// hooks as a rate_wait event of its step with the wait, so the progress view can say
// "waiting for rate limit" (issue 12). The hook cancels the run once it has the event.
func TestRateWaitEvent(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	fl := e2eFlow(t, fmt.Sprintf(rateWaitFlow, cf.APIBase()), map[string]string{"CF_TOKEN": cf.Token()})
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := time.AfterFunc(20*time.Second, cancel) // no event: fail instead of waiting a minute
	defer stop.Stop()
	var mu sync.Mutex
	var waits []engine.Event
	hook := engine.HookFunc(func(e engine.Event) {
		if e.Type != engine.EventRateWait {
			return
		}
		mu.Lock()
		waits = append(waits, e)
		mu.Unlock()
		cancel()
	})
	fl.Run(ctx, engine.RunOptions{Store: st, StateDir: dir, Hooks: []engine.Hook{hook}})
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 1 {
		t.Fatalf("rate_wait events = %+v, want one (the second item's call)", waits)
	}
	if e := waits[0]; e.StepID != "ask" || e.Elapsed < 30*time.Second || e.Elapsed > time.Minute {
		t.Errorf("event = step %q wait %s, want step ask waiting about a minute", e.StepID, e.Elapsed)
	}
	// the run viewer's timeline reads the wait back from the run's events (issue 15)
	runs, err := st.ListRuns(context.Background(), store.ListRunsOpts{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs = %v, %v", runs, err)
	}
	evs, _, err := st.RunEvents(context.Background(), runs[0].ID, 0)
	if err != nil || len(evs) != 1 || evs[0].Kind != store.EventRateWait || evs[0].StepID != "ask" || evs[0].Wait != waits[0].Elapsed || evs[0].Item != waits[0].Item {
		t.Errorf("recorded events = %+v, %v; want the one rate wait", evs, err)
	}
}
