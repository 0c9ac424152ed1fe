package spec

import (
	"strings"
	"testing"
	"time"
)

// TestBatchShapes: batch: takes a number (items per call) or {size, async, poll}; a bad
// mapping is reported at the offending key with what would be accepted.
func TestBatchShapes(t *testing.T) {
	const head = "aiflow: 1\nsteps:\n  s:\n    uses: generate\n    for_each: ${ [1, 2] }\n"
	tests := []struct {
		name    string
		batch   string
		size    int
		async   bool
		poll    time.Duration
		errLine int
		errPath string
		errText string
	}{
		{name: "number", batch: "batch: 5", size: 5},
		{name: "async mapping", batch: "batch: {size: 100, async: true}", size: 100, async: true},
		{name: "poll", batch: "batch: {size: 2, async: true, poll: 30s}", size: 2, async: true, poll: 30 * time.Second},
		{name: "missing size", batch: "batch: {async: true}", errLine: 6, errPath: "steps.s.batch.size", errText: "missing size"},
		{name: "unknown key", batch: "batch: {size: 2, asynch: true}", errLine: 6, errPath: "steps.s.batch.asynch", errText: `did you mean "async"`},
		{name: "poll too short", batch: "batch: {size: 2, poll: 10ms}", errLine: 6, errPath: "steps.s.batch.poll", errText: "at least 1s"},
		{name: "size zero", batch: "batch: {size: 0}", errLine: 6, errPath: "steps.s.batch.size", errText: "at least 1"},
		{name: "async not a bool", batch: "batch: {size: 2, async: yes please}", errLine: 6, errPath: "steps.s.batch.async", errText: "expected true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := Parse("f.yaml", []byte(head+"    "+tt.batch+"\n"))
			if tt.errText != "" {
				if len(diags) != 1 {
					t.Fatalf("want one diagnostic, got %v", diags)
				}
				d := diags[0]
				if d.Pos.Line != tt.errLine || d.Path != tt.errPath || !strings.Contains(d.Summary+d.Detail, tt.errText) {
					t.Fatalf("got %d:%d %s %q %q, want line %d %s %q", d.Pos.Line, d.Pos.Col, d.Path, d.Summary, d.Detail, tt.errLine, tt.errPath, tt.errText)
				}
				return
			}
			if len(diags) != 0 {
				t.Fatalf("diagnostics: %v", diags)
			}
			s := f.Steps[0]
			if s.Batch != tt.size || s.BatchAsync != tt.async || s.BatchPoll != tt.poll {
				t.Fatalf("batch = %d async=%v poll=%s, want %d %v %s", s.Batch, s.BatchAsync, s.BatchPoll, tt.size, tt.async, tt.poll)
			}
		})
	}
}
