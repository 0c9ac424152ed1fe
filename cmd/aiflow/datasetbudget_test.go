//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestDatasetBudgetIsTotal: `run --inputs --budget` caps the dataset as a whole. Before,
// every row got the whole budget, so 40 rows could spend 40 times it. The rows from the
// first refused one on are not written, and --resume last with a larger budget finishes
// them, each row once.
func TestDatasetBudgetIsTotal(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	t.Setenv("AIFLOW_E2E_CF_ACCOUNT", cf.Account())
	t.Setenv("AIFLOW_E2E_CF_TOKEN", cf.Token())
	flow, input, results := writeDatasetFixture(t, cf.APIBase())
	args := []string{"run", flow, "--inputs", input, "--map", "ticket=text", "--results", results, "--parallelism", "4"}

	var stdout, stderr bytes.Buffer
	code := run(append(args, "--budget", "0.0001"), &stdout, &stderr)
	if code == exitOK || !strings.Contains(stderr.String(), "the dataset's budget of $0.000100") || !strings.Contains(stderr.String(), "--resume last") {
		t.Fatalf("exit %d, stderr:\n%s\nwant a failure naming the dataset's budget and --resume", code, stderr.String())
	}
	first := resultRows(t, results)
	if len(first) == 0 || len(first) >= datasetRows {
		t.Fatalf("%d rows written under a budget that pays for a few calls", len(first))
	}
	paid := 0.0
	for _, r := range first {
		paid += r.CostUSD
	}
	if paid > 0.0001 {
		t.Errorf("the written rows cost $%v in all, over the $0.0001 budget", paid)
	}

	stdout.Reset()
	stderr.Reset()
	if code := run(append(args, "--budget", "1", "--resume", "last"), &stdout, &stderr); code != exitOK {
		t.Fatalf("resume: exit %d, stderr:\n%s", code, stderr.String())
	}
	all := resultRows(t, results)
	if len(all) != datasetRows {
		t.Fatalf("after resume %d rows, want %d", len(all), datasetRows)
	}
	for i, r := range all {
		if r.Row != i+1 || r.Status != "succeeded" {
			t.Fatalf("line %d: row %d %s, want row %d succeeded", i+1, r.Row, r.Status, i+1)
		}
	}
}

type resultRow struct {
	Row     int     `json:"row"`
	Status  string  `json:"status"`
	CostUSD float64 `json:"cost_usd"`
}

func resultRows(t *testing.T, path string) []resultRow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []resultRow
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		var r resultRow
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("results line %q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}
