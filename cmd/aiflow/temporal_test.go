package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/engine/store"
)

// TestTemporalFlagsRefused: what --engine temporal cannot combine with is refused before
// anything is submitted, with the flag named.
func TestTemporalFlagsRefused(t *testing.T) {
	dir := t.TempDir()
	flow := filepath.Join(dir, "flow.yaml")
	if err := os.WriteFile(flow, []byte("aiflow: 1\nname: t\nsteps:\n  a:\n    uses: transform\n    with: { expr: 1 }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", flow, "--engine", "spark"}, `--engine "spark": expected local or temporal`},
		{[]string{"run", flow, "--engine", "temporal", "--resume", "last"}, "--resume does not apply to --engine temporal"},
		{[]string{"run", flow, "--engine", "temporal", "--fail-fast"}, "--fail-fast does not apply"},
		{[]string{"run", flow, "--engine", "temporal", "--variant", "a=b"}, "--variant does not run on --engine temporal"},
		{[]string{"worker", "--rate", "workersai=fast"}, `--rate "workersai=fast": expected KIND=N`},
		{[]string{"worker", "--rate", "workersai=100"}, `--rate "workersai=100": unknown provider kind "workersai" (known: `},
		{[]string{"worker", "extra"}, "worker takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[2:], " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tt.args, &out, &errb); code == exitOK {
				t.Fatalf("exit %d, want an error", code)
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr %q, want it to contain %q", errb.String(), tt.want)
			}
		})
	}
}

func TestRunLabelShowsWorkflowID(t *testing.T) {
	tests := []struct {
		r    store.Run
		want string
	}{
		{store.Run{ID: "r-1"}, "r-1"},
		{store.Run{ID: "r-2", Labels: map[string]string{"temporal_workflow_id": "aiflow-r-2"}}, "r-2 (temporal aiflow-r-2)"},
	}
	for _, tt := range tests {
		if got := runLabel(tt.r); got != tt.want {
			t.Errorf("runLabel(%s) = %q, want %q", tt.r.ID, got, tt.want)
		}
		if got := toRunJSON(tt.r).WorkflowID; got != tt.r.Labels["temporal_workflow_id"] {
			t.Errorf("json workflow id %q", got)
		}
	}
}
