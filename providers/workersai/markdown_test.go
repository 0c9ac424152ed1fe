package workersai_test

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/wiretest"
)

// TestToMarkdownMultipart converts an HTML page and a PDF in one request: the request is
// the published multipart form (one "files" part per document with its name and type,
// Bearer token, no JSON), and the result list comes back in order with its tokens.
func TestToMarkdownMultipart(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	p := open(t, cf, nil)
	html := []byte("<html><body><h1>Tides</h1><p>High and low.</p></body></html>")
	pdf := []byte("%PDF-1.4 not really")
	resp, err := p.ToMarkdown(context.Background(), providers.MarkdownRequest{Documents: []providers.Document{
		{Name: "tides.html", MediaType: "text/html", Data: html},
		{Name: "report.pdf", MediaType: "application/pdf", Data: pdf},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.MarkdownResult{
		{Name: "tides.html", MediaType: "text/html", Markdown: "TidesHigh and low.\n", Tokens: 3},
		{Name: "report.pdf", MediaType: "application/pdf", Markdown: "# report.pdf\n\nConverted 19 bytes of application/pdf.\n", Tokens: 7},
	}
	if d := cmp.Diff(want, resp.Results); d != "" {
		t.Errorf("results (-want +got):\n%s", d)
	}
	if resp.Usage.Requests != 1 || resp.Usage.InputTokens != 10 {
		t.Errorf("usage %+v, want one request and the tokens the answer gave", resp.Usage)
	}
	reqs := cf.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if want := "/client/v4/accounts/" + cf.Account() + "/ai/tomarkdown"; r.Path != want || r.Method != "POST" {
		t.Errorf("request %s %s, want POST %s", r.Method, r.Path, want)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+cf.Token() {
		t.Errorf("Authorization %q", got)
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("Content-Type %q, want multipart/form-data", r.Header.Get("Content-Type"))
	}
	type part struct{ Field, File, Type, Data string }
	var parts []part
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	for {
		pt, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(pt)
		parts = append(parts, part{pt.FormName(), pt.FileName(), pt.Header.Get("Content-Type"), string(b)})
	}
	wantParts := []part{{"files", "tides.html", "text/html", string(html)}, {"files", "report.pdf", "application/pdf", string(pdf)}}
	if d := cmp.Diff(wantParts, parts); d != "" {
		t.Errorf("form parts (-want +got):\n%s", d)
	}
}

// TestToMarkdownErrors: a file the converter refuses fails the call naming the file; a
// model id, no documents and an empty document are refused before any request.
func TestToMarkdownErrors(t *testing.T) {
	tests := []struct {
		name     string
		req      providers.MarkdownRequest
		wantErr  []string
		requests int
	}{
		{"unsupported file", providers.MarkdownRequest{Documents: []providers.Document{
			{Name: "ok.txt", MediaType: "text/plain", Data: []byte("fine")},
			{Name: "song.mp3", MediaType: "audio/mpeg", Data: []byte("ID3")}}},
			[]string{"song.mp3: not converted: Unsupported file type: .mp3"}, 1},
		{"model id", providers.MarkdownRequest{Model: "@cf/some/model", Documents: []providers.Document{{Name: "a.txt", Data: []byte("x")}}},
			[]string{"takes no model id", "model: cf"}, 0},
		{"no documents", providers.MarkdownRequest{}, []string{"no documents"}, 0},
		{"empty document", providers.MarkdownRequest{Documents: []providers.Document{{Name: "e.pdf", MediaType: "application/pdf"}}},
			[]string{"e.pdf is empty"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := wiretest.NewCloudflare(t)
			_, err := open(t, cf, nil).ToMarkdown(context.Background(), tt.req)
			if err == nil {
				t.Fatal("ToMarkdown succeeded")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if cf.Count() != tt.requests {
				t.Errorf("%d requests, want %d", cf.Count(), tt.requests)
			}
		})
	}
}

// TestToMarkdownRetries: a 503 is retried by the provider's client and the multipart
// body is sent whole again.
func TestToMarkdownRetries(t *testing.T) {
	cf := wiretest.NewCloudflare(t)
	f := wiretest.CFUnavailableFault()
	f.Path, f.Times = "/client/v4/accounts/"+cf.Account()+"/ai/tomarkdown", 1
	cf.Faults.Add(f)
	p := open(t, cf, nil)
	resp, err := p.ToMarkdown(context.Background(), providers.MarkdownRequest{Documents: []providers.Document{{Name: "a.md", MediaType: "text/markdown", Data: []byte("# A\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Results[0].Markdown != "# A\n" {
		t.Errorf("markdown %q", resp.Results[0].Markdown)
	}
	reqs := cf.Requests()
	if len(reqs) != 2 || !bytes.Equal(reqs[0].Body, reqs[1].Body) || len(reqs[1].Body) == 0 {
		t.Errorf("%d requests; want the same body sent twice", len(reqs))
	}
}
