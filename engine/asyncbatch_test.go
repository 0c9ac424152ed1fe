package engine_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers/wiretest"
	"github.com/aiflow/aiflow/spec"
)

// asyncFlow generates one answer per item through the Workers AI Batch API; %s is the
// emulator's API base, the second %s extra step keys.
const asyncFlow = `
aiflow: 1
name: batchy
vars:
  topics: { type: list, default: [apples, pears, plums, figs, kiwis] }
providers:
  cf:
    kind: workers-ai
    account_id: ` + wiretest.CloudflareAccount + `
    api_token: ${ env("CF_TOKEN") }
    base_url: %s
    rate_limit: off
    retry: { attempts: 2, backoff: 5ms, max_backoff: 20ms }
steps:
  write:
    uses: generate
    model: cf:@cf/meta/llama-3.3-70b-instruct-fp8-fast
    for_each: ${ vars.topics }
    batch: { size: 3, async: true }
    prompt:
      user: One line about ${ each.value }.
    params: { temperature: 0, max_tokens: 32 }
%s
outputs:
  lines: ${ map(steps.write.output, .text) }
`

func asyncRun(t *testing.T, cf *wiretest.Cloudflare, extra string, st *store.Store, opts engine.RunOptions) (*engine.RunResult, error) {
	t.Helper()
	fl := e2eFlow(t, fmt.Sprintf(asyncFlow, cf.APIBase(), extra), map[string]string{"CF_TOKEN": cf.Token()})
	opts.Store = st
	if opts.BatchPoll == 0 {
		opts.BatchPoll = 5 * time.Millisecond
	}
	return fl.Run(context.Background(), opts)
}

// batchEvents collects batch_poll events.
type batchEvents struct {
	mu   sync.Mutex
	list []engine.Event
}

func (b *batchEvents) OnEvent(e engine.Event) {
	if e.Type == engine.EventBatch {
		b.mu.Lock()
		b.list = append(b.list, e)
		b.mu.Unlock()
	}
}

func (b *batchEvents) all() []engine.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]engine.Event(nil), b.list...)
}

// TestAsyncBatchEndToEnd: five items go out in two batches (3 + 2), each submitted once;
// the outputs come back complete and in item order, progress events carry the counts,
// and a second run takes every item from the cache without submitting anything.
func TestAsyncBatchEndToEnd(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	st := openStore(t)
	ev := &batchEvents{}
	res, err := asyncRun(t, cf, "", st, engine.RunOptions{Hooks: []engine.Hook{ev}})
	if err != nil {
		t.Fatal(err)
	}
	lines, _ := res.Outputs["lines"].([]any)
	if len(lines) != 5 {
		t.Fatalf("lines = %v", res.Outputs["lines"])
	}
	for i, topic := range []string{"apples", "pears", "plums", "figs", "kiwis"} {
		if s, _ := lines[i].(string); !strings.Contains(s, topic) {
			t.Errorf("line %d = %q, want the answer about %s", i, s, topic)
		}
	}
	for i := range 5 {
		if n := cf.BatchSubmissions(fmt.Sprintf("item-%d", i)); n != 1 {
			t.Errorf("item %d submitted %d times", i, n)
		}
	}
	if res.Usage.OutputTokens == 0 || res.Usage.USD == 0 {
		t.Errorf("usage not accounted: %+v", res.Usage)
	}
	var ended int
	for _, e := range ev.all() {
		if e.Batch == nil || e.Batch.ID == "" {
			t.Fatalf("batch event without counts: %+v", e)
		}
		if e.Batch.Status == "done" {
			ended++
			if e.Batch.Done+e.Batch.Failed != e.Batch.Items {
				t.Errorf("ended batch counts %+v", e.Batch)
			}
		}
	}
	if ended != 2 {
		t.Fatalf("%d batches ended, want 2; events %+v", ended, ev.all())
	}
	again, err := asyncRun(t, cf, "", st, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cf.BatchItems() != 5 || again.Steps[0].Cached != 5 {
		t.Fatalf("second run: %d items submitted in all, %d cached", cf.BatchItems(), again.Steps[0].Cached)
	}
}

// TestAsyncBatchItemError: an item the batch API fails is recorded failed with the
// provider's message; the other items of its batch are recorded succeeded.
func TestAsyncBatchItemError(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.SetBatchItemError(func(ref string, _ map[string]any) string {
		if ref == "item-1" {
			return "AiError: this prompt was refused"
		}
		return ""
	})
	st := openStore(t)
	res, err := asyncRun(t, cf, "    continue_on_error: true", st, engine.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "item 1") || !strings.Contains(err.Error(), "this prompt was refused") {
		t.Fatalf("run error = %v, want item 1's provider message", err)
	}
	recs, err := st.Steps(context.Background(), res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	status := map[int]string{}
	for _, r := range recs {
		if r.StepID != "write" || r.Item < 0 {
			continue
		}
		status[r.Item] = r.Status
		if r.Item == 1 && !strings.Contains(r.Error, "this prompt was refused") {
			t.Errorf("item 1 error = %q, want the provider's message", r.Error)
		}
	}
	want := map[int]string{0: "succeeded", 1: "failed", 2: "succeeded", 3: "succeeded", 4: "succeeded"}
	for i, s := range want {
		if status[i] != s {
			t.Errorf("item %d: %q, want %q (all: %v)", i, status[i], s, status)
		}
	}
}

// TestAsyncBatchResumePolls: a run cancelled while its batches wait is resumed by
// polling them: no item is submitted twice and the outputs are complete and in order.
func TestAsyncBatchResumePolls(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.SetBatchPolls(1000) // never ends while the first process waits
	st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	submitted := 0
	var mu sync.Mutex
	hook := engine.HookFunc(func(e engine.Event) {
		if e.Type == engine.EventBatch && e.Batch.Status == "submitted" {
			mu.Lock()
			submitted++
			if submitted == 2 {
				once.Do(cancel)
			}
			mu.Unlock()
		}
	})
	fl := e2eFlow(t, fmt.Sprintf(asyncFlow, cf.APIBase(), ""), map[string]string{"CF_TOKEN": cf.Token()})
	first, err := fl.Run(ctx, engine.RunOptions{Store: st, Hooks: []engine.Hook{hook}, BatchPoll: 5 * time.Millisecond})
	if err == nil && first.Status == engine.StatusSucceeded {
		t.Fatal("the first run finished although its batches never ended")
	}
	if cf.BatchItems() != 5 {
		t.Fatalf("%d items submitted before the cancel, want 5", cf.BatchItems())
	}
	runID := first.RunID
	cf.SetBatchPolls(0)
	ev := &batchEvents{}
	res, err := asyncRun(t, cf, "", st, engine.RunOptions{Resume: runID, Hooks: []engine.Hook{ev}})
	if err != nil {
		t.Fatal(err)
	}
	if cf.BatchItems() != 5 {
		t.Fatalf("resume submitted %d items again", cf.BatchItems()-5)
	}
	lines, _ := res.Outputs["lines"].([]any)
	if len(lines) != 5 || !strings.Contains(fmt.Sprint(lines[4]), "kiwis") || !strings.Contains(fmt.Sprint(lines[0]), "apples") {
		t.Fatalf("lines = %v", lines)
	}
	for _, e := range ev.all() {
		if !e.Batch.Resumed {
			t.Fatalf("resumed run's batch event not marked resumed: %+v", e.Batch)
		}
	}
}

// TestAsyncBatchBackoffTimeoutCancel: polls wait longer each time (doubling), the step's
// timeout ends the wait with a message saying how to keep waiting, and cancelling the run
// stops polling at once.
func TestAsyncBatchBackoffTimeoutCancel(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.SetBatchPolls(1000)
	ev := &batchEvents{}
	res, err := asyncRun(t, cf, "    timeout: 300ms", openStore(t), engine.RunOptions{Hooks: []engine.Hook{ev}, BatchPoll: 10 * time.Millisecond})
	if err == nil && res.Status == engine.StatusSucceeded {
		t.Fatal("run succeeded although the batches never ended")
	}
	var se *engine.StepError
	msg := ""
	if errors.As(err, &se) {
		msg = se.Error()
	} else if res != nil && len(res.Steps) > 0 {
		msg = res.Steps[0].Error
	}
	if !strings.Contains(msg, "timeout") || !strings.Contains(msg, "resume") {
		t.Fatalf("error = %q (%v), want the step's timeout and a hint to resume", msg, err)
	}
	var waits []time.Duration
	for _, e := range ev.all() {
		if e.Batch.ID == ev.all()[0].Batch.ID && e.Elapsed > 0 {
			waits = append(waits, e.Elapsed)
		}
	}
	if len(waits) < 3 {
		t.Fatalf("waits = %v, want several polls", waits)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] != 2*waits[i-1] {
			t.Fatalf("waits = %v, want each double the last", waits)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	fl := e2eFlow(t, fmt.Sprintf(asyncFlow, cf.APIBase(), ""), map[string]string{"CF_TOKEN": cf.Token()})
	done := make(chan error, 1)
	go func() {
		_, err := fl.Run(ctx, engine.RunOptions{Store: openStore(t), BatchPoll: time.Hour})
		done <- err
	}()
	for cf.BatchItems() < 10 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("cancel did not stop a run waiting an hour for its next poll")
	}
}

// TestAsyncBatchValidate: validate refuses an async batch on a kind or provider that
// cannot take one, at the batch: line, naming what would be accepted.
func TestAsyncBatchValidate(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"kind without a batch API", `
aiflow: 1
resources:
  kb: { kind: vector-index, backend: local, dimensions: 3 }
steps:
  put:
    uses: upsert
    for_each: ${ [1, 2] }
    batch: { size: 2, async: true }
    with: { index: "${ resources.kb }", ids: ["a"], vectors: [[1, 2, 3]] }
`, "step kind upsert cannot go through an asynchronous batch"},
		{"provider without a batch API", `
aiflow: 1
providers:
  loc: { kind: local }
steps:
  vec:
    uses: embed
    model: loc
    for_each: ${ ["a", "b"] }
    batch: { size: 2, async: true }
    with: { text: "${ each.value }" }
`, "provider loc (local) has no asynchronous batch API for embed"},
		{"model the batch API does not take", `
aiflow: 1
providers:
  cf: { kind: workers-ai, account_id: x, api_token: "${ env(\"T\") }" }
steps:
  g:
    uses: generate
    model: cf:@cf/meta/llama-3.1-8b-instruct
    for_each: ${ ["a", "b"] }
    batch: { size: 2, async: true }
    prompt: { user: "${ each.value }" }
`, `has no asynchronous batches for model "@cf/meta/llama-3.1-8b-instruct"`},
		{"generate without async", `
aiflow: 1
providers:
  cf: { kind: workers-ai, account_id: x, api_token: y }
steps:
  g:
    uses: generate
    model: cf:@cf/meta/llama-3.3-70b-instruct-fp8-fast
    for_each: ${ ["a", "b"] }
    batch: 2
    prompt: { user: "${ each.value }" }
`, "batch needs async"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := spec.Parse("v.yaml", []byte(tt.src))
			if diags.HasErrors() {
				t.Fatalf("parse: %v", diags)
			}
			_, diags = engine.Compile(f, engine.Options{})
			var hit *spec.Diagnostic
			for i := range diags {
				if strings.Contains(diags[i].Summary, tt.want) {
					hit = &diags[i]
				}
			}
			if hit == nil {
				t.Fatalf("diagnostics %v, want %q", diags, tt.want)
			}
			if hit.Pos.Line != 9 && hit.Pos.Line != 10 || !strings.HasSuffix(hit.Path, ".batch") {
				t.Fatalf("reported at %d:%d %s, want the batch: line", hit.Pos.Line, hit.Pos.Col, hit.Path)
			}
		})
	}
}

// TestAsyncBatchProviders runs the same for_each generate through each provider's batch
// API end to end: every item submitted once, outputs in item order, and the usage priced
// at the provider's published batch discount (half of the synchronous run's, for OpenAI
// and Anthropic).
func TestAsyncBatchProviders(t *testing.T) {
	const flow = `
aiflow: 1
name: batchy
providers:
  p:
%s
steps:
  write:
    uses: generate
    model: p:%s
    for_each: ${ ["apples", "pears", "plums", "figs", "kiwis"] }
%s
    prompt:
      user: One line about ${ each.value }.
    params: { temperature: 0, max_tokens: 32 }
outputs:
  lines: ${ map(steps.write.output, .text) }
`
	type emu interface {
		BatchItems() int
		BatchSubmissions(string) int
	}
	tests := []struct {
		name  string
		setup func(t *testing.T) (entry, model string, env map[string]string, e emu)
	}{
		{"openai", func(t *testing.T) (string, string, map[string]string, emu) {
			o := wiretest.NewOpenAI(t)
			return fmt.Sprintf("    kind: openai\n    api_key: ${ env(\"TOKEN\") }\n    base_url: %s", o.URL()), "gpt-4o-mini", map[string]string{"TOKEN": o.Key()}, o
		}},
		{"anthropic", func(t *testing.T) (string, string, map[string]string, emu) {
			a := wiretest.NewAnthropic(t)
			return fmt.Sprintf("    kind: anthropic\n    api_key: ${ env(\"TOKEN\") }\n    base_url: %s", a.URL()), "claude-haiku-4-5", map[string]string{"TOKEN": a.Key()}, a
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entry, model, env, e := tt.setup(t)
			run := func(batch string) *engine.RunResult {
				fl := e2eFlow(t, fmt.Sprintf(flow, entry, model, batch), env)
				res, err := fl.Run(context.Background(), engine.RunOptions{Store: openStore(t), BatchPoll: 5 * time.Millisecond, NoCache: true})
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			batched := run("    batch: { size: 2, async: true }")
			lines, _ := batched.Outputs["lines"].([]any)
			for i, topic := range []string{"apples", "pears", "plums", "figs", "kiwis"} {
				if i >= len(lines) || !strings.Contains(fmt.Sprint(lines[i]), topic) {
					t.Fatalf("lines = %v, want item %d about %s", lines, i, topic)
				}
				if n := e.BatchSubmissions(fmt.Sprintf("item-%d", i)); n != 1 {
					t.Errorf("item %d submitted %d times", i, n)
				}
			}
			direct := run("")
			if e.BatchItems() != 5 {
				t.Fatalf("%d items batched", e.BatchItems())
			}
			if direct.Usage.USD == 0 || math.Abs(batched.Usage.USD*2-direct.Usage.USD) > 1e-9 {
				t.Fatalf("batched run cost %v, direct %v: want half", batched.Usage.USD, direct.Usage.USD)
			}
		})
	}
}

// TestAsyncBatchPlanDiscount: plan estimates an async batch at the provider's published
// batch price (half, for OpenAI) and says so; Workers AI publishes none, so its estimate
// stays at the standard price and the note says that.
func TestAsyncBatchPlanDiscount(t *testing.T) {
	const flow = `
aiflow: 1
providers:
  p:
%s
steps:
  write:
    uses: generate
    model: p:%s
    for_each: ${ ["apples", "pears", "plums", "figs"] }
%s
    prompt:
      user: One line about ${ each.value }.
    params: { temperature: 0, max_tokens: 100 }
`
	tests := []struct {
		entry, model string
		price        float64
		note         string
	}{
		{"    kind: openai\n    api_key: ${ env(\"K\") }", "gpt-4o-mini", 0.5, "50 % of the standard price"},
		{"    kind: anthropic\n    api_key: ${ env(\"K\") }", "claude-haiku-4-5", 0.5, "50 % of the standard price"},
		{"    kind: workers-ai\n    account_id: a\n    api_token: ${ env(\"K\") }", "@cf/meta/llama-3.3-70b-instruct-fp8-fast", 1, "publishes no batch discount"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			plan := func(batch string) engine.PlannedStep {
				fl := e2eFlow(t, fmt.Sprintf(flow, tt.entry, tt.model, batch), map[string]string{"K": "k"})
				p, err := fl.Plan(context.Background(), engine.PlanOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return p.Steps[0]
			}
			std, batched := plan(""), plan("    batch: { size: 4, async: true }")
			if std.Estimate.USD == 0 || math.Abs(batched.Estimate.USD-tt.price*std.Estimate.USD) > 1e-12 {
				t.Fatalf("batched estimate %v, standard %v: want ×%v", batched.Estimate.USD, std.Estimate.USD, tt.price)
			}
			if batched.BatchPrice != tt.price || !strings.Contains(strings.Join(batched.Notes, "\n"), tt.note) {
				t.Fatalf("batch_price %v, notes %q", batched.BatchPrice, batched.Notes)
			}
		})
	}
}

// TestAsyncBatchBudget: a batch whose estimate (at the batch price) exceeds the budget
// is refused before anything is submitted.
func TestAsyncBatchBudget(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	_, err := asyncRun(t, cf, "", openStore(t), engine.RunOptions{BudgetUSD: 1e-9})
	var be *engine.BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a budget error", err)
	}
	if cf.BatchItems() != 0 {
		t.Fatalf("%d items submitted over the budget", cf.BatchItems())
	}
}

// TestAsyncBatchResumeAfterPartialRecord: the killed process had recorded some items of
// a batch (its answers were being collected); the resume polls that same batch for the
// rest instead of submitting them again.
func TestAsyncBatchResumeAfterPartialRecord(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.SetBatchPolls(1000)
	st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	submitted := 0
	hook := engine.HookFunc(func(e engine.Event) {
		if e.Type == engine.EventBatch && e.Batch.Status == "submitted" {
			mu.Lock()
			if submitted++; submitted == 2 {
				cancel()
			}
			mu.Unlock()
		}
	})
	fl := e2eFlow(t, fmt.Sprintf(asyncFlow, cf.APIBase(), ""), map[string]string{"CF_TOKEN": cf.Token()})
	first, _ := fl.Run(ctx, engine.RunOptions{Store: st, Hooks: []engine.Hook{hook}, BatchPoll: 5 * time.Millisecond})
	if cf.BatchItems() != 5 {
		t.Fatalf("%d items submitted, want 5", cf.BatchItems())
	}
	// Items 0 and 1 of the first batch (0–2) were recorded before the kill.
	for i := range 2 {
		rec := store.StepRecord{RunID: first.RunID, StepID: "write", Item: i, Status: engine.StatusSucceeded,
			Output: []byte(fmt.Sprintf(`{"text":"recorded %d"}`, i))}
		if err := st.PutStep(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	cf.SetBatchPolls(0)
	res, err := asyncRun(t, cf, "", st, engine.RunOptions{Resume: first.RunID})
	if err != nil {
		t.Fatal(err)
	}
	if cf.BatchItems() != 5 {
		t.Fatalf("the resume submitted %d items again", cf.BatchItems()-5)
	}
	lines, _ := res.Outputs["lines"].([]any)
	if len(lines) != 5 || lines[0] != "recorded 0" || lines[1] != "recorded 1" || !strings.Contains(fmt.Sprint(lines[2]), "plums") {
		t.Fatalf("lines = %v", lines)
	}
}

// TestAsyncBatchPollFaults: a poll that fails with a retryable error is tried again
// and the run succeeds; one the provider refuses outright fails the step with the
// provider's message.
func TestAsyncBatchPollFaults(t *testing.T) {
	tests := []struct {
		name    string
		fault   wiretest.Fault
		wantErr string
	}{
		{"retryable", wiretest.Fault{Status: 503, Code: "3040", Message: "Capacity temporarily exceeded", Times: 3}, ""},
		{"refused", wiretest.Fault{Status: 400, Code: "5006", Message: "AiError: request_id has expired", Times: 100}, "request_id has expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			cf.SetBatchPolls(2)
			var mu sync.Mutex
			submitted := 0
			hook := engine.HookFunc(func(e engine.Event) {
				if e.Type == engine.EventBatch && e.Batch.Status == "submitted" {
					mu.Lock()
					if submitted++; submitted == 2 {
						cf.Faults.Add(tt.fault)
					}
					mu.Unlock()
				}
			})
			res, err := asyncRun(t, cf, "", openStore(t), engine.RunOptions{Hooks: []engine.Hook{hook}})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				if lines, _ := res.Outputs["lines"].([]any); len(lines) != 5 {
					t.Fatalf("lines = %v", res.Outputs["lines"])
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "polling") {
				t.Fatalf("err = %v, want the provider's refusal of the poll", err)
			}
			if cf.BatchItems() != 5 {
				t.Fatalf("%d items submitted", cf.BatchItems())
			}
		})
	}
}

// TestAsyncBatchEphemeral: an ephemeral run (each row of a dataset run) has no run
// record to hang a batch record on; its batches are still submitted once and answered,
// instead of failing after being paid for because the record could not be written.
func TestAsyncBatchEphemeral(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	st := openStore(t)
	res, err := asyncRun(t, cf, "", st, engine.RunOptions{Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	if lines, _ := res.Outputs["lines"].([]any); len(lines) != 5 {
		t.Fatalf("lines = %v", res.Outputs["lines"])
	}
	if n := cf.BatchItems(); n != 5 {
		t.Errorf("%d items submitted, want 5", n)
	}
	runs, err := st.ListRuns(context.Background(), store.ListRunsOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 0 {
		t.Errorf("an ephemeral run was recorded: %+v", runs)
	}
}

// TestAsyncBatchRecordFailsAfterSubmit: when the batch's job cannot be recorded after the
// provider accepted it (the disk filled, say), the run fails naming the job, and a resume
// does not submit the same items again: the run store knew a submission was under way
// before anything was sent.
func TestAsyncBatchRecordFailsAfterSubmit(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	raw, err := sql.Open("sqlite", filepath.Join(dir, store.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// Every write of a submitted batch's job fails, as on a full disk.
	for _, trig := range []string{
		`CREATE TRIGGER fail_job_insert BEFORE INSERT ON batches WHEN NEW.status = 'submitted' BEGIN SELECT RAISE(ABORT, 'injected: database or disk is full'); END`,
		`CREATE TRIGGER fail_job_update BEFORE UPDATE ON batches WHEN NEW.status = 'submitted' BEGIN SELECT RAISE(ABORT, 'injected: database or disk is full'); END`,
	} {
		if _, err := raw.Exec(trig); err != nil {
			t.Fatal(err)
		}
	}
	first, err := asyncRun(t, cf, "", st, engine.RunOptions{})
	if err == nil && first.Status == engine.StatusSucceeded {
		t.Fatal("the run succeeded although no batch could be recorded")
	}
	sent := cf.BatchItems()
	if sent == 0 {
		t.Fatal("nothing was submitted")
	}
	msg := fmt.Sprint(err)
	if first != nil {
		for _, s := range first.Steps {
			msg += " " + s.Error
		}
	}
	if !strings.Contains(msg, "was submitted") {
		t.Errorf("the failure does not say the batch was submitted and paid for: %s", msg)
	}
	for _, trig := range []string{"fail_job_insert", "fail_job_update"} {
		if _, err := raw.Exec(`DROP TRIGGER ` + trig); err != nil {
			t.Fatal(err)
		}
	}
	res, err := asyncRun(t, cf, "", st, engine.RunOptions{Resume: first.RunID})
	if n := cf.BatchItems(); n != sent {
		t.Fatalf("the resume submitted %d items again (%d before it)", n-sent, sent)
	}
	msg = fmt.Sprint(err)
	if res != nil {
		for _, s := range res.Steps {
			msg += " " + s.Error
		}
	}
	if !strings.Contains(msg, "not submit it again") {
		t.Errorf("the resume does not say why it stopped: %s", msg)
	}
	t.Log(msg)
}
