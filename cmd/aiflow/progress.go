package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aiflow/aiflow/engine"
)

// maxLive bounds the live block; more running steps are summed up in its last line.
const maxLive = 8

// tickEvery is how often the live block is redrawn between events (elapsed times, the end
// of a rate-limit wait).
const tickEvery = 250 * time.Millisecond

// progress renders engine events on stderr. On a terminal it keeps a live block at the
// bottom, one line per running step (items done, elapsed time, cost so far, retries,
// "waiting for rate limit"), and prints finished steps and streamed text above it, where
// they stay; no line it draws is wider than the terminal. Elsewhere it writes one plain
// line per finished step, retry or fallback. Streamed tokens of output steps go to stdout
// when stdout is a terminal. Safe for concurrent use: the engine calls OnEvent from many
// goroutines.
type progress struct {
	mu       sync.Mutex
	scr      screen
	out      io.Writer // stdout: streamed text
	stream   bool
	now      func() time.Time
	steps    map[string]*liveStep
	streamed map[string]bool
	waited   map[string]bool // steps whose rate-limit wait was reported (plain output)
	partial  string          // streamed text after the last newline (terminal only)
	newline  bool            // the streamed text so far ends with a newline
	drawn    []string        // the live block on screen
	stop     chan struct{}
	stopped  chan struct{}
}

// liveStep is what the live block shows about one running step.
type liveStep struct {
	id        string
	start     time.Time
	done      int // for_each items finished
	total     int
	usd       float64
	retries   int
	waitUntil time.Time // the rate limiter holds the step's call until then
	// batches are the step's asynchronous batches, by provider batch id, as last polled.
	batches map[string]engine.BatchCounts
}

func newProgress(scr screen, out io.Writer, stream bool, now func() time.Time) *progress {
	return &progress{scr: scr, out: out, stream: stream, now: now, newline: true,
		steps: map[string]*liveStep{}, streamed: map[string]bool{}, waited: map[string]bool{}}
}

// start redraws the live block every tickEvery until finish, on a terminal only.
func (p *progress) start() {
	if !p.scr.tty {
		return
	}
	p.stop, p.stopped = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(tickEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.tick()
			case <-p.stop:
				return
			}
		}
	}()
}

// tick redraws the live block for the current time.
func (p *progress) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redraw()
}

// OnEvent implements engine.Hook.
func (p *progress) OnEvent(e engine.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.apply(e)
	p.redraw()
}

func (p *progress) apply(e engine.Event) {
	s := p.steps[e.StepID]
	switch e.Type {
	case engine.EventStepDone, engine.EventStepCached, engine.EventStepSkip, engine.EventStepFail:
		if p.streamed[e.StepID] {
			p.write(p.lineBreak()) // the step's text is complete: finish its line before the ✓
		}
	}
	switch e.Type {
	case engine.EventRunStart:
		if e.TraceID != "" {
			p.log("trace %s", e.TraceID)
		}
	case engine.EventStepStart:
		p.steps[e.StepID] = &liveStep{id: e.StepID, start: e.Time}
	case engine.EventItemDone:
		if s != nil {
			s.done, s.total = s.done+1, e.Items
			s.usd += e.Usage.USD
		}
	case engine.EventToken:
		if p.stream && e.Stream {
			p.streamed[e.StepID] = true
			p.write(e.Text)
		}
	case engine.EventRateWait:
		if s != nil {
			s.waitUntil = e.Time.Add(e.Elapsed)
		}
		if !p.scr.tty && !p.waited[e.StepID] {
			p.waited[e.StepID] = true
			p.log("  %s: waiting for rate limit", e.StepID)
		}
	case engine.EventRetry:
		if s != nil {
			s.retries++
		}
		if p.streamed[e.StepID] {
			// the text streamed so far is void; the next attempt streams it anew
			p.write(p.lineBreak() + "[attempt failed; retrying from the start]\n")
		}
		p.log("  %s: retry %d after %v (waiting %s)", e.StepID, e.Attempt, e.Err, e.Elapsed.Round(time.Millisecond))
	case engine.EventBatch:
		p.batch(s, e)
	case engine.EventFallback:
		p.log("  %s: falling back to %s: %s", e.StepID, e.Model, e.Reason)
	case engine.EventStepDone, engine.EventStepCached:
		delete(p.steps, e.StepID)
		p.log("✓ %s %s%s in %s", e.StepID, doneWord(e.Type), doneDetail(e), e.Elapsed.Round(time.Millisecond))
	case engine.EventStepSkip:
		delete(p.steps, e.StepID)
		p.log("- %s skipped: %s", e.StepID, e.Reason)
	case engine.EventStepFail:
		delete(p.steps, e.StepID)
		p.log("✗ %s failed: %v", e.StepID, e.Err)
	}
}

// batch notes a batch_poll event: the live line sums the step's batches; plain output
// gets a line when a batch is submitted (or found again by a resume), changes status, or
// ends.
func (p *progress) batch(s *liveStep, e engine.Event) {
	c := e.Batch
	if c == nil {
		return
	}
	var old engine.BatchCounts
	seen := false
	if s != nil {
		if s.batches == nil {
			s.batches = map[string]engine.BatchCounts{}
		}
		old, seen = s.batches[c.ID]
		s.batches[c.ID] = *c
	}
	if p.scr.tty || (seen && old.Status == c.Status) {
		return
	}
	switch {
	case c.Status == "submitted" && c.Resumed:
		p.log("  %s: resumed: polling batch %s (%d items)", e.StepID, c.ID, c.Items)
	case c.Status == "submitted":
		p.log("  %s: submitted batch %s (%d items)", e.StepID, c.ID, c.Items)
	default:
		p.log("  %s: batch %s %s: %s", e.StepID, c.ID, c.Status, batchCounts(*c))
	}
}

// batchCounts is "2 queued, 3 running, 4/9 done, 1 failed", leaving out what is zero.
func batchCounts(c engine.BatchCounts) string {
	var parts []string
	if c.Queued > 0 {
		parts = append(parts, fmt.Sprintf("%d queued", c.Queued))
	}
	if c.Running > 0 {
		parts = append(parts, fmt.Sprintf("%d running", c.Running))
	}
	parts = append(parts, fmt.Sprintf("%d/%d done", c.Done, c.Items))
	if c.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", c.Failed))
	}
	return strings.Join(parts, ", ")
}

func doneWord(t engine.EventType) string {
	if t == engine.EventStepCached {
		return "cached"
	}
	return "done"
}

func doneDetail(e engine.Event) string {
	s := ""
	if e.Model != "" {
		s = " " + e.Model
	}
	if e.Items > 0 {
		s += fmt.Sprintf(" (%d items)", e.Items)
	}
	return s
}

// lineBreak is "\n" when streamed text stopped mid-line, so a notice starts on its own line.
func (p *progress) lineBreak() string {
	if p.newline && p.partial == "" {
		return ""
	}
	return "\n"
}

// write streams text to stdout. On a terminal the unfinished last line waits in the live
// block and whole lines go above it; elsewhere the text goes out as it comes.
func (p *progress) write(text string) {
	if text == "" {
		return
	}
	p.newline = strings.HasSuffix(text, "\n")
	if !p.scr.tty {
		io.WriteString(p.out, text)
		return
	}
	text = p.partial + text
	cut := strings.LastIndexByte(text, '\n') + 1
	p.partial = text[cut:]
	if cut > 0 {
		p.erase()
		io.WriteString(p.out, text[:cut])
	}
}

// log prints one line above the live block, cut to the terminal's width on a terminal.
func (p *progress) log(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if p.scr.tty {
		p.erase()
		line = p.scr.fit(line, p.scr.cols())
	}
	fmt.Fprintln(p.scr.w, line)
}

// erase removes the live block; the cursor is left where its first line began.
func (p *progress) erase() {
	if len(p.drawn) == 0 {
		return
	}
	io.WriteString(p.scr.w, "\r")
	if n := len(p.drawn) - 1; n > 0 {
		fmt.Fprintf(p.scr.w, "\x1b[%dA", n)
	}
	io.WriteString(p.scr.w, "\x1b[J")
	p.drawn = nil
}

// redraw replaces the live block when what it shows has changed.
func (p *progress) redraw() {
	if !p.scr.tty {
		return
	}
	lines := p.liveLines()
	if slices.Equal(lines, p.drawn) {
		return
	}
	p.erase()
	io.WriteString(p.scr.w, strings.Join(lines, "\n"))
	p.drawn = lines
}

// liveLines is the block: the line being streamed, then one line per running step in the
// order they started, each cut to the terminal's width.
func (p *progress) liveLines() []string {
	cols := p.scr.cols()
	var lines []string
	if p.partial != "" {
		lines = append(lines, p.scr.tail(p.partial, cols))
	}
	running := make([]*liveStep, 0, len(p.steps))
	for _, s := range p.steps {
		running = append(running, s)
	}
	sort.Slice(running, func(i, j int) bool {
		a, b := running[i], running[j]
		if !a.start.Equal(b.start) {
			return a.start.Before(b.start)
		}
		return a.id < b.id
	})
	now := p.now()
	for i, s := range running {
		if i == maxLive-1 && len(running) > maxLive {
			lines = append(lines, p.scr.fit(fmt.Sprintf("  … and %d more running", len(running)-i), cols))
			break
		}
		lines = append(lines, p.scr.fit(s.line(now), cols))
	}
	return lines
}

// line is one running step: "… embed  12/40 items  3s  $0.000120  1 retry  waiting for rate limit".
func (s *liveStep) line(now time.Time) string {
	parts := []string{"… " + s.id}
	if s.total > 0 {
		parts = append(parts, fmt.Sprintf("%d/%d items", s.done, s.total))
	}
	parts = append(parts, elapsed(now.Sub(s.start)))
	if s.usd > 0 {
		parts = append(parts, fmt.Sprintf("$%.6f", s.usd))
	}
	switch {
	case s.retries == 1:
		parts = append(parts, "1 retry")
	case s.retries > 1:
		parts = append(parts, fmt.Sprintf("%d retries", s.retries))
	}
	if now.Before(s.waitUntil) {
		parts = append(parts, "waiting for rate limit")
	}
	if len(s.batches) > 0 {
		var sum engine.BatchCounts
		for _, c := range s.batches {
			sum.Queued, sum.Running, sum.Done, sum.Failed, sum.Items = sum.Queued+c.Queued, sum.Running+c.Running, sum.Done+c.Done, sum.Failed+c.Failed, sum.Items+c.Items
		}
		parts = append(parts, fmt.Sprintf("batch: %s", batchCounts(sum)))
	}
	return strings.Join(parts, "  ")
}

// elapsed is a running time to the second: "7s", "2m05s", "1h03m".
func elapsed(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// finish stops the redraws, removes the live block and ends the streamed text with a
// newline, so what follows starts on a line of its own.
func (p *progress) finish() {
	if p.stop != nil {
		close(p.stop)
		<-p.stopped
		p.stop = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.erase()
	if p.partial != "" {
		io.WriteString(p.out, p.partial)
		p.partial = ""
	}
	if !p.newline {
		io.WriteString(p.out, "\n")
		p.newline = true
	}
}

// logWriter is an io.Writer whose lines are printed above the live block (--debug traces),
// so they neither break it nor get erased.
func (p *progress) logWriter() io.Writer { return progressLog{p} }

type progressLog struct{ p *progress }

func (l progressLog) Write(b []byte) (int, error) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	l.p.erase()
	n, err := l.p.scr.w.Write(b)
	l.p.redraw()
	return n, err
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
