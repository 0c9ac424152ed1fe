package wiretest

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Markdown Conversion (developers.cloudflare.com/workers-ai/features/markdown-conversion):
// POST /accounts/{acct}/ai/tomarkdown takes multipart/form-data with one "files" part per
// document (and an optional "conversionOptions" JSON part) and answers the envelope whose
// result lists, in request order, {id, name, mimeType, format: "markdown", tokens, data}
// or, for a file it cannot read, {id, name, mimeType, format: "error", error}.

func init() {
	registerCFRoute(cfRoute{http.MethodPost, "client/v4/accounts/{acct}/ai/tomarkdown", (*Cloudflare).serveToMarkdown})
}

// cfMarkdownTypes are the published supported formats by extension
// (markdown-conversion/supported-formats), with the mime type the answer names.
var cfMarkdownTypes = map[string]string{
	".pdf": "application/pdf", ".jpeg": "image/jpeg", ".jpg": "image/jpeg", ".png": "image/png",
	".webp": "image/webp", ".svg": "image/svg+xml", ".html": "text/html", ".htm": "text/html",
	".xml": "application/xml", ".csv": "text/csv", ".txt": "text/plain", ".md": "text/markdown",
	".xlsx":    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".xlsm":    "application/vnd.ms-excel.sheet.macroenabled.12",
	".xlsb":    "application/vnd.ms-excel.sheet.binary.macroenabled.12",
	".xls":     "application/vnd.ms-excel",
	".et":      "application/vnd.ms-excel",
	".docx":    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".ods":     "application/vnd.oasis.opendocument.spreadsheet",
	".odt":     "application/vnd.oasis.opendocument.text",
	".numbers": "application/vnd.apple.numbers",
}

// maxMarkdownForm bounds what the emulator reads of one conversion request.
const maxMarkdownForm = 128 << 20

// serveToMarkdown checks the form (multipart, only "files" and "conversionOptions"
// parts, each file named and non-empty) and converts each file deterministically:
// HTML loses its tags, text stays as is, other formats get a heading and a line naming
// their size and type. Unsupported extensions come back with format "error".
func (cf *Cloudflare) serveToMarkdown(w http.ResponseWriter, c *cfCall) {
	if !cf.authorized(w, c) {
		return
	}
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		cfError(w, http.StatusBadRequest, cfErr{10001, "Content-Type must be multipart/form-data with a boundary, got " + c.r.Header.Get("Content-Type")})
		return
	}
	type file struct {
		name, ctype string
		data        []byte
	}
	var files []file
	rd := multipart.NewReader(bytes.NewReader(c.body), params["boundary"])
	for {
		part, err := rd.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			cfError(w, http.StatusBadRequest, cfErr{10001, "malformed multipart body: " + err.Error()})
			return
		}
		data, err := io.ReadAll(io.LimitReader(part, maxMarkdownForm))
		if err != nil {
			cfError(w, http.StatusBadRequest, cfErr{10001, "malformed multipart body: " + err.Error()})
			return
		}
		switch part.FormName() {
		case "files":
			if part.FileName() == "" {
				cfError(w, http.StatusBadRequest, cfErr{10001, "files: each part needs a filename"})
				return
			}
			files = append(files, file{part.FileName(), part.Header.Get("Content-Type"), data})
		case "conversionOptions":
		default:
			cfError(w, http.StatusBadRequest, cfErr{10001, fmt.Sprintf("unexpected form field %q (want files, conversionOptions)", part.FormName())})
			return
		}
	}
	if len(files) == 0 {
		cfError(w, http.StatusBadRequest, cfErr{10001, "files: at least one file is required"})
		return
	}
	if f := cf.Faults.next(c.r.URL.EscapedPath()); f != nil {
		if !cfWait(c.r, f.Delay) {
			return
		}
		cfFault(w, f)
		return
	}
	if !cf.answer(c) {
		return
	}
	results := make([]any, len(files))
	for i, f := range files {
		id := fmt.Sprintf("%d", i+1)
		mtype, ok := cfMarkdownTypes[strings.ToLower(path.Ext(f.name))]
		if !ok {
			results[i] = map[string]any{"id": id, "name": f.name, "mimeType": f.ctype, "format": "error",
				"error": "Unsupported file type: " + path.Ext(f.name)}
			continue
		}
		if len(f.data) == 0 {
			results[i] = map[string]any{"id": id, "name": f.name, "mimeType": mtype, "format": "error", "error": "Empty file"}
			continue
		}
		md := CFMarkdown(f.name, mtype, f.data)
		results[i] = map[string]any{"id": id, "name": f.name, "mimeType": mtype, "format": "markdown", "tokens": cfTokens(md), "data": md}
	}
	cfOK(w, results)
}

var cfTag = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>|<[^>]*>`)

// CFMarkdown is the emulator's conversion of one file: the tags of HTML dropped and
// blank lines folded, text as is, anything else a heading and a line naming it.
func CFMarkdown(name, mediaType string, data []byte) string {
	switch mediaType {
	case "text/html":
		var lines []string
		for _, l := range strings.Split(cfTag.ReplaceAllString(string(data), ""), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		return strings.Join(lines, "\n") + "\n"
	case "text/plain", "text/markdown", "text/csv":
		if utf8.Valid(data) {
			return string(data)
		}
	}
	return fmt.Sprintf("# %s\n\nConverted %d bytes of %s.\n", name, len(data), mediaType)
}
