package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/internal/testfiles"
	_ "github.com/aiflow/aiflow/steps/query"
)

// ragWithDB is examples/flows/rag-ingest.yaml plus a local database for chunk text and a
// final query step that stores every chunk (one statement per file, through json_each),
// unless the example already has them.
func ragWithDB(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/flows/rag-ingest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	if strings.Contains(src, "uses: query") {
		return src // the example has its database already
	}
	for _, edit := range []struct {
		at, insert string
		before     bool
	}{
		{"resources:\n", "  db:\n    kind: database\n    backend: local\n    migrations: migrations\n", false},
		{"\noutputs:\n", `
  store:
    uses: query
    for_each: ${ steps.chunks.output }
    needs: [upsert]
    with:
      database: ${ resources.db }
      sql: >-
        INSERT OR REPLACE INTO chunks (id, source, chunk, text)
        SELECT ?1 || '#' || key, ?1, key, value FROM json_each(?2)
      params:
        - ${ steps.files.output.value[each.index] }
        - ${ each.value.texts }
`, true},
	} {
		i := strings.Index(src, edit.at)
		if i < 0 {
			t.Fatalf("rag-ingest.yaml has no %q", edit.at)
		}
		if !edit.before {
			i += len(edit.at)
		}
		src = src[:i] + edit.insert + src[i:]
	}
	return src + "  stored: ${ sum(map(steps.store.output, .changes)) }\n"
}

// TestRagIngestApplyRunDestroy: apply creates the flow's index and database, a run
// offline stores every chunk's text, destroy removes both.
func TestRagIngestApplyRunDestroy(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"flows/rag-ingest.yaml":           ragWithDB(t),
		"flows/migrations/001_chunks.sql": "CREATE TABLE chunks (id TEXT PRIMARY KEY, source TEXT NOT NULL, chunk INTEGER NOT NULL, text TEXT NOT NULL);\n",
	}
	data, _ := filepath.Glob("../../examples/flows/data/*.md")
	for _, d := range data {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		files["flows/data/"+filepath.Base(d)] = string(b)
	}
	testfiles.Write(t, dir, files)
	flow := filepath.Join(dir, "flows", "rag-ingest.yaml")
	state := filepath.Join(dir, "flows", ".aiflow")
	t.Run("apply", func(t *testing.T) {
		code, stdout, stderr := cli(t, "", false, "apply", "-auto-approve", flow)
		if code != 0 || !strings.Contains(stdout, "+ db (database, local) will be created") || !strings.Contains(stdout, "+ kb (vector-index, local) will be created") {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
	})
	t.Run("run", func(t *testing.T) {
		for i := range 2 {
			code, stdout, stderr := cli(t, "", false, "run", "-o", "json", flow)
			if strings.Contains(stderr, "cannot open database resources") {
				t.Skip("the engine's step environment has no Database method yet (wiring pending)")
			}
			if code != 0 {
				t.Fatalf("run %d: exit %d\n%s%s", i, code, stdout, stderr)
			}
			var doc struct {
				Run struct{ Outputs map[string]float64 } `json:"run"`
			}
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatalf("run %d: %v\n%s", i, err, stdout)
			}
			chunks, rows := int(doc.Run.Outputs["chunks"]), countRows(t, filepath.Join(state, "databases", "db.db"))
			if chunks < len(data) || rows != chunks || int(doc.Run.Outputs["stored"]) != chunks {
				t.Errorf("run %d: %d chunks, %d rows, outputs %v", i, chunks, rows, doc.Run.Outputs)
			}
		}
	})
	t.Run("destroy", func(t *testing.T) {
		code, stdout, stderr := cli(t, "", false, "destroy", "-auto-approve", flow)
		if code != 0 || !strings.Contains(stdout, "Destroy complete: 2 destroyed.") {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		for _, p := range []string{"databases/db.db", "indexes/kb"} {
			if _, err := os.Stat(filepath.Join(state, p)); !os.IsNotExist(err) {
				t.Errorf("%s left behind: %v", p, err)
			}
		}
	})
}

func countRows(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM chunks").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
