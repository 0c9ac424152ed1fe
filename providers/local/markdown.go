package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	htmltomarkdown "github.com/JohannesKaufmann/html-to-markdown/v2"
	"github.com/ledongthuc/pdf"

	"github.com/aiflow/aiflow/providers"
)

// ModelMarkdown is the local document converter: HTML to Markdown, text as is, and the
// text layer of PDFs.
const ModelMarkdown = "local/to-markdown"

var _ providers.MarkdownConverter = (*Provider)(nil)

// Bounds of offline conversion, so that a hostile or broken document costs a known
// amount of memory and time.
const (
	maxMarkdown  = 16 << 20 // Markdown produced per document
	maxPDFPages  = 5000     // pages read per PDF
	maxPageNodes = 100000   // page-tree nodes visited (a cyclic tree ends here)
	maxTreeDepth = 64       // page-tree depth
)

// remoteOnly names the formats only the remote converter reads, by media type.
var remoteOnly = map[string]string{
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":       "XLSX",
	"application/vnd.ms-excel.sheet.macroenabled.12":                          "XLSM",
	"application/vnd.ms-excel.sheet.binary.macroenabled.12":                   "XLSB",
	"application/vnd.ms-excel":                                                "XLS",
	"application/vnd.oasis.opendocument.spreadsheet":                          "ODS",
	"application/vnd.oasis.opendocument.text":                                 "ODT",
	"application/vnd.apple.numbers":                                           "Numbers",
	"application/msword":                                                      "DOC",
}

// remoteHint is how every refusal ends: where the document can be converted instead.
const remoteHint = "use the workers-ai to-markdown (model: a workers-ai provider), which converts it remotely"

// ToMarkdown converts each document offline: HTML through html-to-markdown, plain text
// and Markdown as they are, and PDFs by their text layer. Scanned (image-only) PDFs,
// images and office formats are refused with the remote converter to use instead.
func (p *Provider) ToMarkdown(ctx context.Context, req providers.MarkdownRequest) (providers.MarkdownResponse, error) {
	model, err := checkModel(providers.TaskToMarkdown, req.Model, ModelMarkdown)
	if err != nil {
		return providers.MarkdownResponse{}, err
	}
	resp := providers.MarkdownResponse{Results: make([]providers.MarkdownResult, len(req.Documents)), Meta: providers.Meta{"model": model}}
	for i, d := range req.Documents {
		if err := ctx.Err(); err != nil {
			return providers.MarkdownResponse{}, fmt.Errorf("local to-markdown: %w", err)
		}
		md, err := convertDocument(ctx, d)
		if err != nil {
			return providers.MarkdownResponse{}, badRequest(model, "%s: %v", documentLabel(d), err)
		}
		resp.Results[i] = providers.MarkdownResult{Name: d.Name, MediaType: d.MediaType, Markdown: md}
		resp.Usage.InputTokens += wordCount(md)
	}
	resp.Usage.Requests = 1
	return resp, nil
}

// documentLabel names a document in errors: its name, else its media type.
func documentLabel(d providers.Document) string {
	if d.Name != "" {
		return d.Name
	}
	return "document (" + d.MediaType + ")"
}

// convertDocument picks the converter from the media type (or, when that is generic,
// the name's extension).
func convertDocument(ctx context.Context, d providers.Document) (string, error) {
	if len(d.Data) == 0 {
		return "", errors.New("the document is empty (0 bytes)")
	}
	mt := documentType(d)
	switch {
	case mt == "text/html" || mt == "application/xhtml+xml":
		return htmlMarkdown(d.Data)
	case mt == "text/plain" || mt == "text/markdown" || mt == "text/csv":
		if !utf8.Valid(d.Data) {
			return "", fmt.Errorf("%s is not valid UTF-8 text", mt)
		}
		if len(d.Data) > maxMarkdown {
			return "", fmt.Errorf("the text has %d bytes; the offline converter keeps at most %d", len(d.Data), maxMarkdown)
		}
		return string(d.Data), nil
	case mt == "application/pdf":
		return pdfMarkdown(ctx, d.Data)
	case remoteOnly[mt] != "":
		return "", fmt.Errorf("%s documents cannot be converted offline: %s", remoteOnly[mt], remoteHint)
	case strings.HasPrefix(mt, "image/"):
		return "", fmt.Errorf("images (%s) cannot be converted offline, they need a vision model: %s", mt, remoteHint)
	}
	return "", fmt.Errorf("unsupported media type %s; offline conversion reads text/html, text/plain, text/markdown, text/csv and application/pdf (text PDFs); for other formats %s", mt, remoteHint)
}

// documentType is the document's media type, from its extension when the stored type
// is generic or missing.
func documentType(d providers.Document) string {
	mt := strings.ToLower(strings.TrimSpace(d.MediaType))
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = strings.TrimSpace(mt[:i])
	}
	if mt != "" && mt != "application/octet-stream" && mt != "binary/octet-stream" {
		return mt
	}
	switch strings.ToLower(filepath.Ext(d.Name)) {
	case ".html", ".htm":
		return "text/html"
	case ".md", ".markdown":
		return "text/markdown"
	case ".txt":
		return "text/plain"
	case ".pdf":
		return "application/pdf"
	}
	if mt == "" {
		return "application/octet-stream"
	}
	return mt
}

// htmlMarkdown converts HTML with html-to-markdown (CommonMark, GitHub tables off).
func htmlMarkdown(data []byte) (md string, err error) {
	defer func() {
		if r := recover(); r != nil {
			md, err = "", fmt.Errorf("malformed HTML: %v", r)
		}
	}()
	out, err := htmltomarkdown.ConvertReader(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("converting HTML: %w", err)
	}
	if len(out) > maxMarkdown {
		return "", fmt.Errorf("the Markdown has %d bytes; the offline converter keeps at most %d", len(out), maxMarkdown)
	}
	return string(out), nil
}

// errTooMuchText stops a PDF whose text outgrows maxMarkdown.
var errTooMuchText = fmt.Errorf("the PDF's text is larger than %d bytes, the offline converter's limit", maxMarkdown)

// pdfMarkdown extracts the text layer of a PDF, one paragraph per text block and pages
// separated by a rule. The PDF library reports malformed input by panicking, so every
// call into it runs under recover; the page tree is walked with bounds (a cyclic tree
// would otherwise loop) and ctx is checked while content streams are read.
func pdfMarkdown(ctx context.Context, data []byte) (md string, err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok && (errors.Is(e, errTooMuchText) || errors.Is(e, ctx.Err())) {
				md, err = "", e
				return
			}
			md, err = "", fmt.Errorf("malformed PDF: %s", shorten(fmt.Sprint(r), 120))
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if strings.Contains(err.Error(), "password") || strings.Contains(err.Error(), "encrypt") {
			return "", fmt.Errorf("encrypted PDF (%v): %s", err, remoteHint)
		}
		return "", fmt.Errorf("reading the PDF: %v (a PDF 1.0–1.7 file is expected; for others %s)", err, remoteHint)
	}
	pages, err := pdfPages(r)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for _, pg := range pages {
		text := strings.TrimSpace(pageText(ctx, pg, maxMarkdown-out.Len()))
		if text == "" {
			continue
		}
		if out.Len() > 0 {
			out.WriteString("\n\n---\n\n")
		}
		out.WriteString(text)
		if out.Len() > maxMarkdown {
			return "", errTooMuchText
		}
	}
	if !hasLetters(out.String()) {
		return "", fmt.Errorf("no text layer (%d page(s), no extractable text: a scanned or image-only PDF): %s", len(pages), remoteHint)
	}
	return out.String() + "\n", nil
}

// pdfPages lists the leaf pages of the page tree in order, within the bounds above.
func pdfPages(r *pdf.Reader) ([]pdf.Page, error) {
	var pages []pdf.Page
	visited := 0
	var walk func(v pdf.Value, depth int) error
	walk = func(v pdf.Value, depth int) error {
		visited++
		if visited > maxPageNodes || depth > maxTreeDepth {
			return fmt.Errorf("malformed PDF: the page tree is deeper than %d or has more than %d nodes (a cycle?)", maxTreeDepth, maxPageNodes)
		}
		switch v.Key("Type").Name() {
		case "Page":
			if len(pages) == maxPDFPages {
				return fmt.Errorf("the PDF has more than %d pages, the offline converter's limit: split it or %s", maxPDFPages, remoteHint)
			}
			pages = append(pages, pdf.Page{V: v})
		case "Pages":
			kids := v.Key("Kids")
			for i := 0; i < kids.Len(); i++ {
				if err := walk(kids.Index(i), depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(r.Trailer().Key("Root").Key("Pages"), 0); err != nil {
		return nil, err
	}
	return pages, nil
}

// pageText reads one page's text operators, BT blocks on lines of their own. It stops
// with errTooMuchText past limit bytes and with ctx's error when ctx ends.
func pageText(ctx context.Context, pg pdf.Page, limit int) string {
	contents := pg.V.Key("Contents")
	if pg.V.IsNull() || contents.Kind() == pdf.Null {
		return ""
	}
	fonts := map[string]pdf.TextEncoding{}
	encoding := func(name string) pdf.TextEncoding {
		if e, ok := fonts[name]; ok {
			return e
		}
		f := pg.Font(name)
		e := f.Encoder()
		fonts[name] = e
		return e
	}
	var b strings.Builder
	var enc pdf.TextEncoding
	ops := 0
	show := func(s pdf.Value) {
		if s.Kind() != pdf.String {
			return
		}
		raw := s.RawString()
		if enc == nil {
			b.WriteString(raw)
		} else {
			b.WriteString(enc.Decode(raw))
		}
		if b.Len() > limit {
			panic(errTooMuchText)
		}
	}
	pdf.Interpret(contents, func(stk *pdf.Stack, op string) {
		ops++
		if ops%4096 == 0 && ctx.Err() != nil {
			panic(ctx.Err())
		}
		args := make([]pdf.Value, stk.Len())
		for i := len(args) - 1; i >= 0; i-- {
			args[i] = stk.Pop()
		}
		switch op {
		case "BT":
			b.WriteString("\n")
		case "T*", "Td", "TD":
			b.WriteString("\n")
		case "Tf":
			if len(args) == 2 {
				enc = encoding(args[0].Name())
			}
		case "Tj", "'":
			if len(args) == 1 {
				if op == "'" {
					b.WriteString("\n")
				}
				show(args[0])
			}
		case "\"":
			if len(args) == 3 {
				b.WriteString("\n")
				show(args[2])
			}
		case "TJ":
			if len(args) == 1 {
				for i := 0; i < args[0].Len(); i++ {
					show(args[0].Index(i))
				}
			}
		}
	})
	return tidyLines(b.String())
}

// tidyLines trims each line and folds runs of blank lines into one.
func tidyLines(s string) string {
	var out []string
	blank := false
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRightFunc(strings.TrimLeftFunc(line, unicode.IsSpace), unicode.IsSpace)
		if line == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// hasLetters reports whether s holds any letter or digit (an image-only PDF gives none).
func hasLetters(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

// shorten cuts s to at most n bytes on a rune boundary, on one line, marking the cut.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
