package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/providers"
)

// at is one moment of a progress scenario: an event, or (zero Type) a redraw tick.
type at struct {
	sec float64
	e   engine.Event
}

func ev(sec float64, typ engine.EventType, step string, set ...func(*engine.Event)) at {
	e := engine.Event{Type: typ, StepID: step, Item: -1}
	for _, f := range set {
		f(&e)
	}
	return at{sec, e}
}

func tick(sec float64) at { return at{sec: sec} }

func items(done, total int, usd float64) func(*engine.Event) {
	return func(e *engine.Event) { e.Item, e.Items, e.Usage = done-1, total, providers.Usage{USD: usd} }
}

func text(s string) func(*engine.Event) { return func(e *engine.Event) { e.Text, e.Stream = s, true } }

func took(sec float64) func(*engine.Event) {
	return func(e *engine.Event) { e.Elapsed = time.Duration(sec * float64(time.Second)) }
}

func model(m string, n int) func(*engine.Event) {
	return func(e *engine.Event) { e.Model, e.Items = m, n }
}

func failed(msg string) func(*engine.Event) { return func(e *engine.Event) { e.Err = errors.New(msg) } }

func attempt(n int) func(*engine.Event) { return func(e *engine.Event) { e.Attempt = n } }

const rateLimited = "429 Too Many Requests: 请求过多，请稍后再试 — rate limited by the upstream provider"

// runScenario is a run with fan-out, a rate-limit wait, a retry with a wide-character
// message, a streamed answer with a long unfinished line, and a failure.
var runScenario = []at{
	ev(0, engine.EventRunStart, ""),
	ev(0, engine.EventStepStart, "chunks"),
	ev(0.3, engine.EventStepDone, "chunks", took(0.3)),
	ev(0.3, engine.EventStepStart, "embed"),
	ev(0.3, engine.EventStepStart, "classify_every_review_sentiment"),
	ev(1.2, engine.EventItemDone, "embed", items(1, 40, 0.000125)),
	ev(1.5, engine.EventRateWait, "embed", took(2)),
	tick(2),
	ev(2.4, engine.EventRetry, "classify_every_review_sentiment", attempt(1), failed(rateLimited), took(1)),
	tick(3.6),
	ev(3.6, engine.EventItemDone, "embed", items(2, 40, 0.000125)),
	ev(3.7, engine.EventStepStart, "answer"),
	ev(3.8, engine.EventToken, "answer", text("Tides are caused mainly by the Moon's gravity, ")),
	ev(3.9, engine.EventToken, "answer", text("which pulls the oceans toward it.\n潮汐主要由月球引力引起，太阳也有影响。")),
	ev(4.0, engine.EventToken, "answer", text(" The Sun's pull adds to the Moon's at new and full moon")),
	ev(5.0, engine.EventStepDone, "embed", model("workers-ai:@cf/baai/bge-base-en-v1.5", 40), took(4.7)),
	ev(65.2, engine.EventStepFail, "classify_every_review_sentiment", failed("calling workers-ai: "+rateLimited)),
	ev(66, engine.EventToken, "answer", text(".\n")),
	ev(66.1, engine.EventStepDone, "answer", model("workers-ai:@cf/meta/llama-3.1-8b-instruct", 0), took(62.4)),
}

// crowdScenario starts more steps than the live block shows.
var crowdScenario = func() []at {
	var s []at
	for i := range maxLive + 3 {
		s = append(s, ev(float64(i)/10, engine.EventStepStart, fmt.Sprintf("step%02d", i)))
	}
	return append(s, ev(2, engine.EventStepDone, "step00", took(2)))
}()

// retryScenario streams part of an answer, fails, and streams it again.
var retryScenario = []at{
	ev(0, engine.EventStepStart, "answer"),
	ev(0.5, engine.EventToken, "answer", text("The first try ")),
	ev(1, engine.EventRetry, "answer", attempt(1), failed("connection reset"), took(0.5)),
	ev(1.5, engine.EventToken, "answer", text("The second try works.")),
	ev(2, engine.EventStepDone, "answer", took(2)),
}

func batched(c engine.BatchCounts) func(*engine.Event) {
	return func(e *engine.Event) { e.Batch = &c }
}

// batchScenario waits on two asynchronous batches, one found again by a resume.
var batchScenario = []at{
	ev(0, engine.EventStepStart, "write"),
	ev(0.2, engine.EventBatch, "write", batched(engine.BatchCounts{ID: "batch_1", Status: "submitted", Items: 3, Queued: 3})),
	ev(0.2, engine.EventBatch, "write", batched(engine.BatchCounts{ID: "batch_2", Status: "submitted", Items: 2, Queued: 2, Resumed: true})),
	ev(2.2, engine.EventBatch, "write", batched(engine.BatchCounts{ID: "batch_1", Status: "in_progress", Items: 3, Running: 2, Done: 1})),
	ev(4.2, engine.EventBatch, "write", batched(engine.BatchCounts{ID: "batch_1", Status: "in_progress", Items: 3, Running: 1, Done: 2})),
	ev(4.3, engine.EventBatch, "write", batched(engine.BatchCounts{ID: "batch_2", Status: "ended", Items: 2, Done: 1, Failed: 1})),
	ev(8.2, engine.EventBatch, "write", batched(engine.BatchCounts{ID: "batch_1", Status: "completed", Items: 3, Done: 3})),
	ev(8.3, engine.EventStepDone, "write", model("openai:gpt-4o-mini", 5), took(8.3)),
}

// TestProgressFrames drives the progress view with events on a fake terminal and compares
// what the terminal shows after each one with testdata/progress/<name>.golden (-update
// rewrites them). On a terminal no line of the view may wrap; elsewhere it writes plain
// lines without escape sequences.
func TestProgressFrames(t *testing.T) {
	tests := []struct {
		name   string
		width  int
		tty    bool
		events []at
	}{
		{"run_60", 60, true, runScenario},
		{"run_120", 120, true, runScenario},
		{"run_plain", 60, false, runScenario},
		{"crowd_60", 60, true, crowdScenario},
		{"stream_retry_60", 60, true, retryScenario},
		{"batch_60", 60, true, batchScenario},
		{"batch_plain", 60, false, batchScenario},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := progressFrames(t, tt.width, tt.tty, tt.events)
			file := filepath.Join("testdata", "progress", tt.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s differs (-want +got); rerun with -update to accept:\n%s", file, diff)
			}
		})
	}
}

// progressFrames plays events and returns the screen after each (the final one only when
// not a terminal), checking on the way that nothing wrapped.
func progressFrames(t *testing.T, width int, tty bool, events []at) string {
	t.Helper()
	term := newFakeTerm(width)
	scr := term.screen()
	scr.tty = tty
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := start
	// Off a terminal stdout is usually elsewhere too (a pipe, a file): no streaming.
	p := newProgress(scr, term.stdout(), tty, func() time.Time { return now })
	var b strings.Builder
	fmt.Fprintf(&b, "# %d columns, terminal: %v\n", width, tty)
	frame := func(title string) {
		for _, pr := range term.problems {
			if tty || !strings.Contains(pr, "wrapped") { // a log file may have long lines
				t.Errorf("after %s: %s", title, pr)
			}
		}
		term.problems = nil
		if tty {
			fmt.Fprintf(&b, "\n-- %s\n%s\n", title, term)
		}
	}
	for _, a := range events {
		now = start.Add(time.Duration(a.sec * float64(time.Second)))
		if a.e.Type == "" {
			p.tick()
			frame(fmt.Sprintf("%.1fs tick", a.sec))
			continue
		}
		a.e.Time = now
		p.OnEvent(a.e)
		frame(strings.TrimSpace(fmt.Sprintf("%.1fs %s %s", a.sec, a.e.Type, a.e.StepID)))
	}
	p.finish()
	frame("finish")
	if !tty {
		fmt.Fprintf(&b, "\n%s\n", term)
		if term.escapes > 0 {
			t.Errorf("plain output has %d escape sequences", term.escapes)
		}
	}
	return b.String()
}
