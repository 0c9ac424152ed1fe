package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secretVarFlow carries a secret: true var into a step output, the cache (cache:
// forever on a transform), a nested output and a printed output.
const secretVarFlow = `aiflow: 1
name: secret-var
vars:
  pw: { type: string, secret: true }
steps:
  shape:
    uses: transform
    cache: forever
    with:
      expr: { login: 'user:${ vars.pw }', n: 1 }
outputs:
  login: ${ steps.shape.output.value.login }
  shape: ${ steps.shape.output.value }
`

// TestSecretVarNeverPrinted: a secret: true var's value never appears in what aiflow run
// prints (table and -o json), in runs show (human and JSON), in cache ls, nor in the
// state directory (issue 11, finding 7).
func TestSecretVarNeverPrinted(t *testing.T) {
	const secret = "hunter2-PLANTED"
	dir := t.TempDir()
	flow := filepath.Join(dir, "flow.yaml")
	if err := os.WriteFile(flow, []byte(secretVarFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	aiflow := func(args ...string) string {
		t.Helper()
		var out, errs bytes.Buffer
		if code := run(args, &out, &errs); code != exitOK {
			t.Fatalf("aiflow %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errs.String())
		}
		text := out.String() + errs.String()
		if strings.Contains(text, "PLANTED") {
			t.Errorf("aiflow %s prints the secret:\n%s", strings.Join(args, " "), text)
		}
		return out.String()
	}
	human := aiflow("run", "--state-dir", state, "--var", "pw="+secret, flow)
	if !strings.Contains(human, "user:[REDACTED]") {
		t.Errorf("run output %q: want the secret shown as [REDACTED]", human)
	}
	var res struct {
		Run struct {
			RunID string `json:"run_id"`
		} `json:"run"`
	}
	if err := json.Unmarshal([]byte(aiflow("run", "-o", "json", "--state-dir", state, "--var", "pw="+secret, flow)), &res); err != nil || res.Run.RunID == "" {
		t.Fatalf("run -o json: %v", err)
	}
	aiflow("runs", "--state-dir", state)
	shown := aiflow("runs", "show", "--state-dir", state, res.Run.RunID)
	if !strings.Contains(shown, "user:[REDACTED]") {
		t.Errorf("runs show %q: want the outputs with the secret redacted", shown)
	}
	aiflow("runs", "show", "-o", "json", "--state-dir", state, res.Run.RunID)
	aiflow("cache", "ls", "--state-dir", state)
	aiflow("cache", "ls", "-o", "json", "--state-dir", state)
	err := filepath.WalkDir(state, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte("PLANTED")) {
			t.Errorf("%s holds the secret", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
