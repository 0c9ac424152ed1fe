package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cli runs aiflow in-process with stdin as the confirmation input.
func cli(t *testing.T, stdin string, tty bool, args ...string) (int, string, string) {
	t.Helper()
	oldIn, oldTTY := confirmInput, inputIsTerminal
	confirmInput, inputIsTerminal = strings.NewReader(stdin), func() bool { return tty }
	defer func() { confirmInput, inputIsTerminal = oldIn, oldTTY }()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

const infraFlow = `aiflow: 1
name: infra-cli
resources:
  db:
    kind: database
    migrations: migrations
  kb:
    kind: vector-index
    dimensions: 8
steps:
  noop:
    uses: transform
    with:
      expr: 1
`

func writeInfraFlow(t *testing.T) (dir, flow string) {
	t.Helper()
	dir = t.TempDir()
	flow = filepath.Join(dir, "flow.yaml")
	for name, content := range map[string]string{"flow.yaml": infraFlow, "migrations/001.sql": "CREATE TABLE notes (text TEXT);"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, flow
}

func TestApplyCommand(t *testing.T) {
	dir, flow := writeInfraFlow(t)
	db := filepath.Join(dir, ".aiflow", "databases", "db.db")
	tests := []struct {
		name           string
		stdin          string
		tty            bool
		args           []string
		code           int
		stdout, stderr string // substrings
		applied        bool   // the database exists afterwards
	}{
		{"no terminal", "", false, []string{"apply", flow}, 1, "+ db (database, local) will be created", "apply needs confirmation: run it on a terminal, or pass -auto-approve", false},
		{"json needs auto-approve", "", true, []string{"apply", "-o", "json", flow}, 1, `"kind": "usage"`, "", false},
		{"answered no", "no\n", true, []string{"apply", flow}, 1, "Only 'yes' will be accepted", "Apply cancelled: nothing was changed.", false},
		{"answered yes", "yes\n", true, []string{"apply", flow}, 0, "Apply complete: 2 created.", "", true},
		{"nothing to do", "", false, []string{"apply", flow}, 0, "No changes: the resources match the flow.", "", true},
		{"json", "", false, []string{"apply", "-auto-approve", "-o", "json", flow}, 0, `"applied": true`, "", true},
		{"two flows", "", false, []string{"apply", flow, flow}, 1, "", "expected one flow file", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, tt.stdin, tt.tty, tt.args...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			if _, err := os.Stat(db); (err == nil) != tt.applied {
				t.Errorf("database exists = %v, want %v", err == nil, tt.applied)
			}
		})
	}
	t.Run("json document", func(t *testing.T) {
		_, stdout, _ := cli(t, "", false, "apply", "-auto-approve", "-o", "json", flow)
		var doc struct {
			FormatVersion string `json:"format_version"`
			Plan          struct {
				Resources []struct{ Name, Action string } `json:"resources"`
			} `json:"plan"`
			Diagnostics []any `json:"diagnostics"`
		}
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil || doc.FormatVersion != "1" || len(doc.Plan.Resources) != 2 || doc.Diagnostics == nil {
			t.Errorf("%v: %s", err, stdout)
		}
	})
}

func TestDestroyCommand(t *testing.T) {
	dir, flow := writeInfraFlow(t)
	if code, out, errOut := cli(t, "", false, "apply", "-auto-approve", flow); code != 0 {
		t.Fatalf("apply: %d\n%s%s", code, out, errOut)
	}
	code, stdout, stderr := cli(t, "", false, "destroy", flow)
	if code != 1 || !strings.Contains(stdout, "- kb (vector-index, local) will be destroyed") || !strings.Contains(stdout, "- db (database, local) will be destroyed") ||
		!strings.Contains(stderr, "destroy needs confirmation") {
		t.Errorf("destroy without approval: %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = cli(t, "yes\n", true, "destroy", flow)
	if code != 0 || !strings.Contains(stdout, "Destroy complete: 2 destroyed.") {
		t.Errorf("destroy: %d\n%s", code, stdout)
	}
	for _, p := range []string{"databases/db.db", "indexes/kb"} {
		if _, err := os.Stat(filepath.Join(dir, ".aiflow", p)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	code, stdout, _ = cli(t, "", false, "destroy", flow)
	if code != 0 || !strings.Contains(stdout, "Nothing to destroy: no resources of flow infra-cli are recorded.") {
		t.Errorf("second destroy: %d\n%s", code, stdout)
	}
}
