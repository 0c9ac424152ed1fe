package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/internal/rundiff"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestRunsDiff is issue 14 part 5: runs diff names, per step and output, what changed
// between two runs: the variant, vars, the step's inputs (prompt), its output, cost.
func TestRunsDiff(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	cf.SetResponder(func(r wiretest.CFRun) (any, bool) {
		b, _ := json.Marshal(r.Input)
		return map[string]any{"response": fmt.Sprintf("answer of %d bytes", len(b))}, true
	})
	t.Setenv("AIFLOW_E2E_CF_ACCOUNT", cf.Account())
	t.Setenv("AIFLOW_E2E_CF_TOKEN", cf.Token())
	dir := t.TempDir()
	flow := filepath.Join(dir, "variants.yaml")
	os.WriteFile(flow, []byte(fmt.Sprintf(variantFlow, "Briefly:")), 0o644)
	state := filepath.Join(dir, "state")
	for _, v := range []string{"long", "short"} {
		var o, e bytes.Buffer
		if code := run([]string{"run", flow, "--variant", "summary=" + v, "--state-dir", state, "--var", "cf_api=" + cf.APIBase()}, &o, &e); code != exitOK {
			t.Fatalf("run: exit %d\n%s", code, e.String())
		}
	}
	var out, errs bytes.Buffer
	if code := run([]string{"runs", "diff", "last~1", "last", flow, "--state-dir", state}, &out, &errs); code != exitOK {
		t.Fatalf("runs diff: exit %d\n%s", code, errs.String())
	}
	for _, want := range []string{
		"labels:\n  variant.summary: long → short",
		"outputs:\n  text: answer of",
		"steps.summary:\n  inputs: ",
		"(inputs, prompt or params differ (their hashes))",
		"  output:\n    - {\"finish_reason\":\"stop\"",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("runs diff lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	run([]string{"runs", "diff", "last", "last", flow, "--state-dir", state, "-o", "json"}, &out, &errs)
	var doc struct {
		Changes []rundiff.Change `json:"changes"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Changes {
		if c.Scope != "run" || c.Field != "latency" {
			t.Errorf("a run diffed with itself shows a change: %+v", c)
		}
	}
	if code := run([]string{"runs", "diff", "last~5", "last", flow, "--state-dir", state}, &out, &errs); code != exitError || !strings.Contains(errs.String(), "only 2 runs recorded") {
		t.Errorf("runs diff last~5: exit %d, %s", code, errs.String())
	}
}
