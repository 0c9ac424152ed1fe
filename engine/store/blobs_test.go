package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vectorsOutput is a step output the size of an embed item: many floats as JSON.
func vectorsOutput(item int) json.RawMessage {
	var b strings.Builder
	b.WriteString(`{"vectors":[`)
	for i := range 2000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%.6f", float64((i*31+item*17)%1000)/997)
	}
	b.WriteString(`]}`)
	return json.RawMessage(b.String())
}

// recordIdenticalRun writes one run whose steps produce the same outputs as every other
// run this helper writes, the way a re-run of an unchanged ingest does.
func recordIdenticalRun(t *testing.T, s *Store, n int) {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("r%03d", n)
	if err := s.CreateRun(ctx, sampleRun(id, "ingest.yaml", t0.Add(time.Duration(n)*time.Minute))); err != nil {
		t.Fatal(err)
	}
	var recs []StepRecord
	for item := range 12 {
		recs = append(recs, StepRecord{RunID: id, StepID: "vectors", Item: item, Status: StepCached, Reason: "cache hit",
			Output: vectorsOutput(item), StartedAt: t0, FinishedAt: t0.Add(time.Millisecond)})
	}
	if err := s.PutSteps(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, id, RunSucceeded, map[string]any{"chunks": 92}, "", Usage{}); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestIdenticalRunsStoreOutputsOnce is issue 11 finding 22: five re-runs with unchanged
// outputs must add under 5 % to state.db, because outputs are stored once by content.
func TestIdenticalRunsStoreOutputsOnce(t *testing.T) {
	sqliteOnly(t) // measures state.db
	dir := t.TempDir()
	s, err := testOpen(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	recordIdenticalRun(t, s, 0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, DBFile)
	first := fileSize(t, db)
	for n := 1; n <= 5; n++ {
		s, err := testOpen(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		recordIdenticalRun(t, s, n)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	after := fileSize(t, db)
	growth := float64(after-first) / float64(first)
	t.Logf("state.db: %d bytes after the first run, %d after five more (+%.2f%%)", first, after, 100*growth)
	if growth >= 0.05 {
		t.Errorf("state.db grew from %d to %d bytes (%.1f%%) over five identical runs; want under 5%%", first, after, 100*growth)
	}
	s, err = testOpen(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for n := range 6 {
		got, err := s.GetStep(context.Background(), fmt.Sprintf("r%03d", n), "vectors", 7)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Output) != string(vectorsOutput(7)) {
			t.Fatalf("run %d: output read back differs from the one written", n)
		}
	}
}

// TestMigrateInlineOutputsToBlobs upgrades a database written before outputs were
// stored by content: every output must read back unchanged, stored once.
func TestMigrateInlineOutputsToBlobs(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	setup := []string{migrations[0].sqlite, `CREATE TABLE schema_version (version INTEGER NOT NULL)`, `INSERT INTO schema_version VALUES (1)`}
	for _, r := range []string{"r1", "r2"} {
		setup = append(setup, `INSERT INTO runs (id, flow, flow_name, flow_hash, status, started_at) VALUES ('`+r+`', 'f.yaml', 'f', 'h', 'succeeded', 1)`,
			`INSERT INTO steps (run_id, step_id, item, status, output) VALUES ('`+r+`', 'embed', 0, 'succeeded', CAST('{"v":[1,2,3]}' AS BLOB))`,
			`INSERT INTO steps (run_id, step_id, item, status, output) VALUES ('`+r+`', 'embed', 1, 'succeeded', CAST('{"v":[4]}' AS BLOB))`,
			`INSERT INTO steps (run_id, step_id, item, status) VALUES ('`+r+`', 'noop', -1, 'skipped')`)
	}
	for _, q := range setup {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := openStore(t, dir)
	want := map[int]string{0: `{"v":[1,2,3]}`, 1: `{"v":[4]}`}
	for _, r := range []string{"r1", "r2"} {
		recs, err := s.Steps(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 {
			t.Fatalf("run %s: %d steps after upgrade, want 3", r, len(recs))
		}
		for _, rec := range recs {
			if rec.StepID == "noop" {
				if rec.Output != nil {
					t.Errorf("run %s: step without output reads back %s", r, rec.Output)
				}
				continue
			}
			if string(rec.Output) != want[rec.Item] {
				t.Errorf("run %s item %d: output %s after upgrade, want %s", r, rec.Item, rec.Output, want[rec.Item])
			}
		}
	}
	var n int
	if err := s.p.r.QueryRow(`SELECT count(*) FROM blobs`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d blobs (%v) after upgrade; want the 2 distinct outputs", n, err)
	}
}
