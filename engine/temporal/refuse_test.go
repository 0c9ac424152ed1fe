package temporal_test

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/temporal"
	"github.com/aiflow/aiflow/spec"
)

const localIndexFlow = `aiflow: 1
name: refuse
vars:
  token: { type: string, secret: true, default: x }
resources:
  kb:
    kind: vector-index
    backend: local
    dimensions: 16
steps:
  a:
    uses: transform
    with: { expr: 1 }
`

// TestRefuse: a flow whose data stays on this machine is refused when workers may run on
// others (a shared state), naming the file position and the remote alternatives; a
// secret var given at submit is always refused, since it would be stored for workers.
func TestRefuse(t *testing.T) {
	f, diags := spec.Parse("flow.yaml", []byte(localIndexFlow))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	fl, diags := engine.Compile(f, engine.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	tests := []struct {
		name   string
		vars   map[string]any
		shared bool
		want   []string // substrings; none means accepted
	}{
		{name: "local state, no secrets"},
		{name: "shared state", shared: true, want: []string{"flow.yaml:6:3", `resource "kb" is kept on this machine`, "Vectorize", "D1", "R2"}},
		{name: "secret var given", vars: map[string]any{"token": "s3cr3t"}, want: []string{"flow.yaml:4:3", `secret var "token" cannot be passed`, "env("}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := temporal.Refuse(fl, tt.vars, tt.shared)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if de, ok := err.(*spec.DiagnosticsError); ok {
				msg = ""
				for _, d := range de.Diags {
					msg += d.Pos.String() + ": " + d.Summary + " " + d.Detail + "\n"
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "s3cr3t") {
				t.Errorf("error %q shows the secret", msg)
			}
		})
	}
}
