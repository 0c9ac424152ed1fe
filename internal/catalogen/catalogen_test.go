package catalogen

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/want.json")

// TestReadDirGolden converts the fixture docs files and compares with the golden file:
// properties become typed fields, schema descriptions go but a property named
// "description" stays, an empty schema is absent, the first example is kept.
func TestReadDirGolden(t *testing.T) {
	commits, err := ReadCommits("testdata/docs/COMMITS.tsv")
	if err != nil {
		t.Fatal(err)
	}
	models, _, err := ReadDir("testdata/docs", commits)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Encode(File{Source: Source{Repository: "r/r", Path: "p", Commit: "per-model", Taken: "2026-01-02"}, Models: models})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "want.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("output differs from %s (run with -update after checking):\n%s", golden, got)
	}
	for _, bad := range []string{`"The prompt."`, `"What the tool does."`, `"Seed."`} {
		if strings.Contains(string(got), bad) {
			t.Errorf("schema description %s was kept", bad)
		}
	}
	if !strings.Contains(string(got), `"description":{"type":"string"}`) {
		t.Errorf("the tool property named description was dropped")
	}
}

// TestConvertErrors: bad files are refused with the file name and what was wrong.
func TestConvertErrors(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"notjson", `{`, "notjson.json: unexpected end"},
		{"noname", `{"task":{"name":"Translation"}}`, "noname.json: no model name"},
		{"task", `{"name":"@cf/x","task":{"name":"Telepathy"}}`, `unknown task "Telepathy" (known: Automatic Speech Recognition`},
		{"ctx", `{"name":"@cf/x","task":{"name":"Translation"},"properties":[{"property_id":"context_window","value":"lots"}]}`, `property context_window: want an integer, got "lots"`},
		{"flag", `{"name":"@cf/x","task":{"name":"Translation"},"properties":[{"property_id":"beta","value":"maybe"}]}`, `property beta: want true or false, got "maybe"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Convert(c.name+".json", []byte(c.body))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestReadDirDuplicate: two files publishing one id are refused, naming both.
func TestReadDirDuplicate(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.json", "b.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(`{"name":"@cf/x","task":{"name":"Translation"}}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := ReadDir(dir, nil); err == nil || !strings.Contains(err.Error(), "a.json and b.json both publish @cf/x") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := ReadDir(t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "no *.json model files") {
		t.Fatalf("empty dir: err = %v", err)
	}
}

// TestReadDirDuplicateNamedFile: cloudflare-docs keeps a stale qwen.json that publishes
// @cf/qwen/qwen1.5-0.5b-chat, which qwen1.5-0.5b-chat.json also publishes. The file named
// after the model wins; the other is skipped and reported, not silently lost.
func TestReadDirDuplicateNamedFile(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"qwen.json":              `{"name":"@cf/qwen/qwen1.5-0.5b-chat","description":"old","task":{"name":"Text Generation"}}`,
		"qwen1.5-0.5b-chat.json": `{"name":"@cf/qwen/qwen1.5-0.5b-chat","description":"new","task":{"name":"Text Generation"}}`,
		"other.json":             `{"name":"@cf/x/other","task":{"name":"Translation"}}`,
	}
	for f, body := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	models, skipped, err := ReadDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(models) != 2 || models[0].SourceFile != "qwen1.5-0.5b-chat.json" || models[0].Description != "new" {
		t.Fatalf("models = %+v", models)
	}
	if len(skipped) != 1 || !strings.Contains(skipped[0], "qwen.json") || !strings.Contains(skipped[0], "qwen1.5-0.5b-chat.json") {
		t.Fatalf("skipped = %q", skipped)
	}
}
