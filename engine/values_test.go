package engine_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/spec"
)

// recordsOf returns a run's step records as "step[item]" → "status output".
func recordsOf(t *testing.T, st *store.Store, runID string) map[string]string {
	t.Helper()
	recs, err := st.Steps(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range recs {
		out[fmt.Sprintf("%s[%d]", r.StepID, r.Item)] = r.Status + " " + string(r.Output)
	}
	return out
}

// TestCachedRerunRecordsTheSameOutputs runs an ingest twice: the re-run is served from
// the cache, records every output exactly as the first run did (runs show prints the
// same JSON), and adds no stored output: the items reference the cached values and the
// for_each step's whole output references its items.
func TestCachedRerunRecordsTheSameOutputs(t *testing.T) {
	dir := t.TempDir()
	var doc strings.Builder
	for i := range 7 {
		fmt.Fprintf(&doc, "Paragraph %d about topic %d, in plain words.\n\n", i, i%3)
	}
	if err := os.WriteFile(filepath.Join(dir, "doc.txt"), []byte(doc.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `aiflow: 1
steps:
  chunks:
    uses: chunk
    with: { text: '${ file("doc.txt") }', size: 12 }
  vectors:
    uses: embed
    for_each: ${ steps.chunks.output.texts }
    batch: 3
    with: { text: '${ each.value }' }
  dims:
    uses: transform
    with: { expr: '${ map(steps.vectors.output, len(.vector)) }' }
outputs:
  dims: ${ steps.dims.output.value }
  first: ${ steps.vectors.output[0].vector[0] }
`
	path := filepath.Join(dir, "flow.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f, diags := spec.ParseFile(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	fl, diags := engine.Compile(f, engine.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	state := filepath.Join(dir, ".aiflow")
	st, err := store.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs := func() int {
		db, err := sql.Open("sqlite", filepath.Join(state, store.DBFile))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM blobs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	opts := engine.RunOptions{Store: st, StateDir: state}
	first, err := fl.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	stored := blobs()
	second, err := fl.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	items := second.Steps[1].Items
	if items < 3 || second.Steps[1].Cached != items || second.Steps[1].Status != engine.StatusCached {
		t.Fatalf("re-run: vectors %s with %d of %d items cached; want all from the cache", second.Steps[1].Status, second.Steps[1].Cached, items)
	}
	if d := cmp.Diff(first.Outputs, second.Outputs); d != "" {
		t.Errorf("outputs differ (-first +second):\n%s", d)
	}
	a, b := recordsOf(t, st, first.RunID), recordsOf(t, st, second.RunID)
	for k, rec := range a {
		// Statuses differ (succeeded, then cached); outputs must not.
		if out := rec[strings.IndexByte(rec, ' ')+1:]; out != b[k][strings.IndexByte(b[k], ' ')+1:] {
			t.Errorf("%s: output %s on the first run, %s on the re-run", k, out, b[k])
		}
	}
	var whole []json.RawMessage
	if err := json.Unmarshal([]byte(strings.TrimPrefix(b["vectors[-1]"], "cached ")), &whole); err != nil || len(whole) != items {
		t.Fatalf("whole output of vectors: %d items (%v); want %d", len(whole), err, items)
	}
	for i, it := range whole {
		if want := strings.TrimPrefix(b[fmt.Sprintf("vectors[%d]", i)], "cached "); string(it) != want {
			t.Errorf("whole output item %d = %.60s…, item record %.60s…", i, it, want)
		}
	}
	if n := blobs(); n != stored {
		t.Errorf("the cached re-run stored %d new outputs; want none", n-stored)
	}
}
