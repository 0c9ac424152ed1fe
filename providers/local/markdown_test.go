package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	return readFile(t, "testdata/markdown/"+name)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestToMarkdown converts each format the offline converter reads and checks the
// refusals name what it cannot do and the remote converter to use instead.
func TestToMarkdown(t *testing.T) {
	textPDF, scanned, html := readTestdata(t, "text.pdf"), readTestdata(t, "scanned.pdf"), readFile(t, "../../examples/flows/data/docs/coral-reefs.html") // the quickstart's own HTML document
	tests := []struct {
		name    string
		doc     providers.Document
		want    []string // substrings of the Markdown, in order
		absent  []string
		wantErr []string // substrings of the error
	}{
		{"html", providers.Document{Name: "page.html", MediaType: "text/html", Data: html},
			[]string{"# Coral reefs", "**polyps**", "- Warmer water", "*bleaching*", "[NOAA ocean facts](https://oceanservice.noaa.gov/facts/coral_reef.html)"},
			[]string{"console.log", "font-family"}, nil},
		{"html by extension", providers.Document{Name: "page.htm", MediaType: "application/octet-stream", Data: []byte("<p>Hi <b>there</b></p>")},
			[]string{"Hi **there**"}, nil, nil},
		{"markdown as is", providers.Document{Name: "a.md", MediaType: "text/markdown", Data: []byte("# Title\n\n*x*\n")},
			[]string{"# Title\n\n*x*\n"}, nil, nil},
		{"plain text as is", providers.Document{Name: "a.txt", MediaType: "text/plain; charset=utf-8", Data: []byte("a < b")},
			[]string{"a < b"}, nil, nil},
		{"text pdf", providers.Document{Name: "text.pdf", MediaType: "application/pdf", Data: textPDF},
			[]string{"Hello PDF world\nsecond line (with parens)", "---", "Page two text"}, nil, nil},
		{"scanned pdf", providers.Document{Name: "scan.pdf", MediaType: "application/pdf", Data: scanned},
			nil, nil, []string{"scan.pdf", "no text layer", "use the workers-ai to-markdown"}},
		{"docx", providers.Document{Name: "r.docx", MediaType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Data: []byte("PK\x03\x04")},
			nil, nil, []string{"r.docx", "DOCX documents cannot be converted offline", "workers-ai to-markdown"}},
		{"xlsx", providers.Document{Name: "r.xlsx", MediaType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: []byte("PK\x03\x04")},
			nil, nil, []string{"XLSX documents cannot be converted offline", "workers-ai to-markdown"}},
		{"image", providers.Document{Name: "cat.png", MediaType: "image/png", Data: []byte("\x89PNG")},
			nil, nil, []string{"images (image/png) cannot be converted offline", "workers-ai to-markdown"}},
		{"unknown type", providers.Document{Name: "x.bin", MediaType: "application/octet-stream", Data: []byte{1, 2}},
			nil, nil, []string{"unsupported media type application/octet-stream", "application/pdf"}},
		{"empty", providers.Document{Name: "e.pdf", MediaType: "application/pdf"},
			nil, nil, []string{"e.pdf", "empty (0 bytes)"}},
		{"not utf-8", providers.Document{Name: "l.txt", MediaType: "text/plain", Data: []byte{0xff, 0xfe, 'a'}},
			nil, nil, []string{"not valid UTF-8"}},
		{"not a pdf", providers.Document{Name: "fake.pdf", MediaType: "application/pdf", Data: []byte("hello")},
			nil, nil, []string{"fake.pdf", "reading the PDF"}},
	}
	p := &Provider{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.ToMarkdown(context.Background(), providers.MarkdownRequest{Documents: []providers.Document{tt.doc}})
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("ToMarkdown = %q, want an error", resp.Results[0].Markdown)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ToMarkdown: %v", err)
			}
			md := resp.Results[0].Markdown
			rest := md
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("markdown lacks %q (in order):\n%s", w, md)
				}
				rest = rest[i+len(w):]
			}
			for _, a := range tt.absent {
				if strings.Contains(md, a) {
					t.Errorf("markdown holds %q:\n%s", a, md)
				}
			}
			if r := resp.Results[0]; r.Name != tt.doc.Name || r.MediaType != tt.doc.MediaType || resp.Meta["model"] != ModelMarkdown {
				t.Errorf("result %+v meta %v; want the document's name and media type and model %s", r, resp.Meta, ModelMarkdown)
			}
		})
	}
}

// TestToMarkdownModel refuses a model id the local provider does not have.
func TestToMarkdownModel(t *testing.T) {
	_, err := (&Provider{}).ToMarkdown(context.Background(), providers.MarkdownRequest{Model: "local/ocr",
		Documents: []providers.Document{{Name: "a.txt", MediaType: "text/plain", Data: []byte("x")}}})
	if err == nil || !strings.Contains(err.Error(), ModelMarkdown) {
		t.Fatalf("error %v, want one naming %s", err, ModelMarkdown)
	}
}

// cyclicPDF has a page tree whose Pages node lists itself as a kid.
const cyclicPDF = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [2 0 R] /Count 1 >>\nendobj\n"

// TestToMarkdownMalformedPDF: broken PDFs end in an error, not a panic or a hang.
func TestToMarkdownMalformedPDF(t *testing.T) {
	good := readTestdata(t, "text.pdf")
	tests := map[string][]byte{
		"truncated":      good[:len(good)/2],
		"cyclic tree":    withXref(cyclicPDF, 2),
		"bad hex string": bytes.Replace(good, []byte("BT /F1 12 Tf"), []byte("BT <zzzzzzzz"), 1), // same length: offsets hold
		"bad xref":       bytes.Replace(good, []byte("xref"), []byte("xraf"), 1),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := (&Provider{}).ToMarkdown(context.Background(), providers.MarkdownRequest{
				Documents: []providers.Document{{Name: "bad.pdf", MediaType: "application/pdf", Data: data}}})
			if err == nil {
				t.Fatal("ToMarkdown succeeded on a malformed PDF")
			}
			if !strings.Contains(err.Error(), "bad.pdf") {
				t.Errorf("error %q does not name the document", err)
			}
		})
	}
}

// withXref appends a valid xref table and trailer for objects 1..n of body.
func withXref(body string, n int) []byte {
	var b strings.Builder
	b.WriteString(body)
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", n+1)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%010d 00000 n \n", strings.Index(body, fmt.Sprintf("%d 0 obj", i)))
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", n+1, len(body))
	return []byte(b.String())
}

// FuzzPDFMarkdown feeds arbitrary bytes to the PDF path: it must return text or an
// error, never panic or hang.
func FuzzPDFMarkdown(f *testing.F) {
	f.Add(readTestdata(f, "text.pdf"))
	f.Add(readTestdata(f, "scanned.pdf"))
	f.Add(withXref(cyclicPDF, 2))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = pdfMarkdown(context.Background(), data)
	})
}
