package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aiflow/aiflow/engine"
)

// progress renders engine events: on a terminal, one live status line listing the running
// steps; otherwise one log line per finished step. Streamed tokens of output steps go to
// stdout when it is a terminal.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	out      io.Writer
	tty      bool
	stream   bool
	running  map[string]time.Time
	items    map[string][2]int
	streamed map[string]bool
	lineLen  int
	fl       *engine.Flow
}

func newProgress(w, out io.Writer, tty, stream bool, fl *engine.Flow) *progress {
	return &progress{w: w, out: out, tty: tty, stream: stream, running: map[string]time.Time{}, items: map[string][2]int{}, streamed: map[string]bool{}, fl: fl}
}

func (p *progress) OnEvent(e engine.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Type {
	case engine.EventStepStart:
		p.running[e.StepID] = e.Time
	case engine.EventItemDone:
		p.items[e.StepID] = [2]int{p.items[e.StepID][0] + 1, e.Items}
	case engine.EventToken:
		if p.stream && e.Stream {
			p.clear()
			fmt.Fprint(p.out, e.Text)
			p.streamed[e.StepID] = true
			return
		}
	case engine.EventRetry:
		if p.streamed[e.StepID] {
			// the text streamed so far is void; the next attempt streams it anew
			fmt.Fprintln(p.out, "\n[attempt failed; retrying from the start]")
		}
		p.log("  %s: retry %d after %v (waiting %s)", e.StepID, e.Attempt, e.Err, e.Elapsed.Round(time.Millisecond))
	case engine.EventFallback:
		p.log("  %s: falling back to %s: %s", e.StepID, e.Model, e.Reason)
	case engine.EventStepDone, engine.EventStepCached:
		delete(p.running, e.StepID)
		word := "done"
		if e.Type == engine.EventStepCached {
			word = "cached"
		}
		extra := ""
		if e.Model != "" {
			extra = " " + e.Model
		}
		if e.Items > 0 {
			extra += fmt.Sprintf(" (%d items)", e.Items)
		}
		p.log("✓ %s %s%s in %s", e.StepID, word, extra, e.Elapsed.Round(time.Millisecond))
	case engine.EventStepSkip:
		delete(p.running, e.StepID)
		p.log("- %s skipped: %s", e.StepID, e.Reason)
	case engine.EventStepFail:
		delete(p.running, e.StepID)
		p.log("✗ %s failed: %v", e.StepID, e.Err)
	}
	p.status()
}

func (p *progress) log(format string, args ...any) {
	p.clear()
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *progress) clear() {
	if p.tty && p.lineLen > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.lineLen))
		p.lineLen = 0
	}
}

func (p *progress) status() {
	if !p.tty || len(p.running) == 0 {
		return
	}
	ids := make([]string, 0, len(p.running))
	for id := range p.running {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		s := id
		if it, ok := p.items[id]; ok && it[1] > 0 {
			s += fmt.Sprintf(" %d/%d", it[0], it[1])
		}
		parts = append(parts, s)
	}
	line := "… running: " + strings.Join(parts, ", ")
	if len(line) > 120 {
		line = line[:117] + "..."
	}
	p.clear()
	fmt.Fprint(p.w, line)
	p.lineLen = len([]rune(line))
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	if len(p.streamed) > 0 {
		fmt.Fprintln(p.out)
	}
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
