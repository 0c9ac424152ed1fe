package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/providers/wiretest"
	"github.com/aiflow/aiflow/spec"
)

// checkPDFRAGIngest checks the outputs of examples/flows/pdf-rag-ingest.yaml: the three
// bundled documents, in key order, with the media types the converter reports, chunked
// and upserted.
func checkPDFRAGIngest(t *testing.T, out map[string]any, mediaTypes []string) {
	t.Helper()
	want := []any{"docs/coral-reefs.html", "docs/lighthouse-keepers.pdf", "docs/tidal-energy.pdf"}
	if d := cmp.Diff(want, out["documents"]); d != "" {
		t.Errorf("documents (-want +got):\n%s", d)
	}
	var mts []any
	for _, m := range mediaTypes {
		mts = append(mts, m)
	}
	if d := cmp.Diff(mts, out["media_types"]); d != "" {
		t.Errorf("media types (-want +got):\n%s", d)
	}
	if n, err := strconv.Atoi(fmt.Sprint(out["chunks"])); err != nil || n < 3 {
		t.Errorf("chunks = %v, want at least one per document", out["chunks"])
	}
}

// TestPDFRAGIngestOnWorkersAI runs the example with converter=cloudflare: one multipart
// conversion request per document reaches the emulator, with the bucket key as the file
// name, and the emulator's Markdown is what gets chunked.
func TestPDFRAGIngestOnWorkersAI(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	fl := fileFlow(t, "../examples/flows/pdf-rag-ingest.yaml", cfEnv(cf))
	res := e2eRun(t, fl, t.TempDir(), engine.RunOptions{Vars: map[string]any{"converter": "cloudflare", "cf_api": cf.APIBase()}})
	checkPDFRAGIngest(t, res.Outputs, []string{"text/html", "application/pdf", "application/pdf"})
	md, _ := res.Outputs["markdown"].([]any)
	if len(md) != 3 || !strings.HasPrefix(fmt.Sprint(md[1]), "# lighthouse-keepers.pdf\n") || !strings.Contains(fmt.Sprint(md[0]), "Coral reefs") {
		t.Errorf("markdown = %q, want the emulator's conversions", md)
	}
	path := "/client/v4/accounts/" + cf.Account() + "/ai/tomarkdown"
	if n := countPath(cf, path); n != 3 || cf.Count() != 3 {
		t.Errorf("%d conversion requests of %d in all, want 3 and 3: %v", n, cf.Count(), sentPaths(cf))
	}
	var names []string
	for _, r := range cf.Requests() {
		for _, n := range []string{"coral-reefs.html", "lighthouse-keepers.pdf", "tidal-energy.pdf"} {
			if strings.Contains(string(r.Body), `filename="`+n+`"`) {
				names = append(names, n)
			}
		}
	}
	if len(names) != 3 {
		t.Errorf("file names sent: %v, want the three keys' base names", names)
	}
}

// markdownFlow converts one document with %s as the step's model line and %s as its
// document.
const markdownFlow = `
aiflow: 1
name: md
providers:
  cf:
    kind: workers-ai
    account_id: ${ env("CLOUDFLARE_ACCOUNT_ID") }
    api_token: ${ env("CLOUDFLARE_API_TOKEN") }
    base_url: %s
steps:
  convert:
    uses: to-markdown
%s
    with:
      document: %s
outputs:
  markdown: ${ steps.convert.output.markdown }
`

// TestToMarkdownValidate: a model id on workers-ai, a number as the document and a
// provider that cannot convert are errors at validate, at their line.
func TestToMarkdownValidate(t *testing.T) {
	tests := []struct {
		name, model, document string
		want                  string
	}{
		{"workers-ai model id", "    model: cf:@cf/some/model", `${ blob("x.pdf") }`, `md.yaml:13:12: steps.convert.model: workers-ai converts documents without a model id: write model: <provider name> (e.g. model: cf), not "@cf/some/model"`},
		{"number document", "", "42", "md.yaml:15:17: steps.convert.with.document: document: expected a blob"},
		{"local model id", "    model: local:local/ocr", `${ blob("x.pdf") }`, `unknown local model "local/ocr"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf(markdownFlow, "http://127.0.0.1:9", tt.model, tt.document)
			f, diags := spec.Parse("md.yaml", []byte(src))
			if !diags.HasErrors() {
				_, diags = engine.Compile(f, engine.Options{LookupEnv: func(string) (string, bool) { return "x", true }})
			}
			if !diags.HasErrors() || !strings.Contains(diags.Err().Error(), tt.want) {
				t.Errorf("diagnostics %v, want an error saying %q", diags, tt.want)
			}
		})
	}
}

// TestToMarkdownOfflineRefusals: offline, a DOCX and a scanned PDF fail the step with
// an error naming the step, the document and the remote converter.
func TestToMarkdownOfflineRefusals(t *testing.T) {
	scanned, err := os.ReadFile("../providers/local/testdata/markdown/scanned.pdf")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file string
		data       []byte
		want       string
	}{
		{"docx", "report.docx", []byte("PK\x03\x04 a zip of xml parts"), "report.docx: DOCX documents cannot be converted offline"},
		{"scanned pdf", "scan.pdf", scanned, "scan.pdf: no text layer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tt.file), tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			src := fmt.Sprintf(markdownFlow, "http://127.0.0.1:9", "", `${ blob("`+tt.file+`") }`)
			src = strings.Replace(src, "      document:", "      name: "+tt.file+"\n      document:", 1)
			path := filepath.Join(dir, "md.yaml")
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			fl := fileFlow(t, path, map[string]string{"CLOUDFLARE_ACCOUNT_ID": "a", "CLOUDFLARE_API_TOKEN": "b"})
			_, err := fl.Run(context.Background(), engine.RunOptions{Store: openStore(t), StateDir: dir})
			if err == nil {
				t.Fatal("run succeeded")
			}
			for _, w := range []string{"convert", tt.want, "use the workers-ai to-markdown"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestToMarkdownInputs converts offline from each input shape: a blob, text with a name
// that says HTML, and a list of blobs with one name each (joined, tokens absent).
func TestToMarkdownInputs(t *testing.T) {
	page, err := os.ReadFile("../examples/flows/data/docs/coral-reefs.html")
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile("../providers/local/testdata/markdown/text.pdf")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, with string
		want       []string // in the markdown, in order
		wantName   any
		wantType   any
	}{
		{"blob", `{document: '${ blob("page.html") }'}`, []string{"# Coral reefs"}, "document.html", "text/html"},
		{"text named html", `{document: '${ file("page.html") }', name: reefs.html}`, []string{"# Coral reefs", "**polyps**"}, "reefs.html", "text/html"},
		{"text", `{document: "just *text*"}`, []string{"just *text*"}, "document.txt", "text/plain"},
		{"list", `{document: ['${ blob("text.pdf") }', '${ blob("page.html") }'], name: [a.pdf, b.html]}`,
			[]string{"Hello PDF world", "Page two text", "# Coral reefs"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range map[string][]byte{"page.html": page, "text.pdf": text} {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			src := "aiflow: 1\nname: md\nsteps:\n  convert:\n    uses: to-markdown\n    with: " + tt.with + "\noutputs:\n  out: ${ steps.convert.output }\n"
			path := filepath.Join(dir, "md.yaml")
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			res := e2eRun(t, fileFlow(t, path, nil), dir, engine.RunOptions{})
			out, _ := res.Outputs["out"].(map[string]any)
			md, _ := out["markdown"].(string)
			rest := md
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("markdown lacks %q (in order):\n%s", w, md)
				}
				rest = rest[i+len(w):]
			}
			if out["name"] != tt.wantName || out["media_type"] != tt.wantType || out["tokens"] != nil {
				t.Errorf("name %v media_type %v tokens %v; want %v, %v and none (the local converter counts none)", out["name"], out["media_type"], out["tokens"], tt.wantName, tt.wantType)
			}
			wantDocs := 1
			if tt.name == "list" {
				wantDocs = 2
			}
			if docs, _ := out["documents"].([]any); len(docs) != wantDocs {
				t.Errorf("documents = %v, want %d rows", docs, wantDocs)
			}
		})
	}
}
