package workersai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/transport"
)

// markdownModel names the document converter in errors and meta: the endpoint takes no
// model id (Cloudflare picks the models it uses for images itself).
const markdownModel = "tomarkdown"

// maxMarkdownRequest bounds the files of one conversion request, sent in one body.
const maxMarkdownRequest = 100 << 20

var _ providers.MarkdownConverter = (*Provider)(nil)

// ToMarkdown converts documents with Workers AI's Markdown Conversion
// (POST /accounts/{id}/ai/tomarkdown, multipart/form-data with one "files" part per
// document; developers.cloudflare.com/workers-ai/features/markdown-conversion). The
// answer is the usual envelope whose result lists {name, mimeType, format, tokens, data}
// in request order; a file answered with format "error" fails the call naming it. The
// endpoint is not served through AI Gateway, so the call goes to the API directly.
func (p *Provider) ToMarkdown(ctx context.Context, req providers.MarkdownRequest) (providers.MarkdownResponse, error) {
	if req.Model != "" {
		return providers.MarkdownResponse{}, invalid(req.Model, "Markdown conversion takes no model id: write model: <provider name> (e.g. model: cf)")
	}
	body, ctype, err := markdownBody(req.Documents)
	if err != nil {
		return providers.MarkdownResponse{}, invalid(markdownModel, err.Error())
	}
	u := p.cfg.baseURL + "/accounts/" + p.cfg.accountID + "/ai/tomarkdown"
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return providers.MarkdownResponse{}, p.fail(markdownModel, err)
	}
	hreq.Header.Set("Authorization", "Bearer "+p.cfg.apiToken)
	hreq.Header.Set("Content-Type", ctype)
	resp, err := p.client(providers.TaskToMarkdown, markdownModel).Do(hreq)
	if err != nil {
		return providers.MarkdownResponse{}, p.fail(markdownModel, err)
	}
	defer resp.Body.Close()
	meta := providers.Meta{"model": markdownModel}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return providers.MarkdownResponse{}, p.fail(markdownModel, fmt.Errorf("reading response: %w", err))
	}
	if len(raw) > maxResponse {
		return providers.MarkdownResponse{}, invalid(markdownModel, fmt.Sprintf("answer larger than %d bytes", maxResponse))
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return providers.MarkdownResponse{}, p.badResponse(markdownModel, err, raw)
	}
	if !env.Success || len(env.Errors) > 0 {
		return providers.MarkdownResponse{}, p.envelopeError(markdownModel, resp.StatusCode, env.Errors)
	}
	var results []markdownResult
	if err := p.decode(markdownModel, env.Result, &results); err != nil {
		return providers.MarkdownResponse{}, err
	}
	if len(results) != len(req.Documents) {
		return providers.MarkdownResponse{}, invalid(markdownModel, fmt.Sprintf("answer has %d results for %d documents", len(results), len(req.Documents)))
	}
	out := providers.MarkdownResponse{Results: make([]providers.MarkdownResult, len(results)), Meta: meta, Usage: providers.Usage{Requests: 1}}
	for i, r := range results {
		name := req.Documents[i].Name
		if r.Format != "markdown" {
			msg := transport.Redact(r.Error, p.secrets)
			if msg == "" {
				msg = "format " + strconv.Quote(r.Format)
			}
			return providers.MarkdownResponse{}, invalid(markdownModel, fmt.Sprintf("%s: not converted: %s", name, msg))
		}
		tokens, err := r.tokens()
		if err != nil {
			return providers.MarkdownResponse{}, invalid(markdownModel, fmt.Sprintf("%s: %v", name, err))
		}
		mt := r.MimeType
		if mt == "" {
			mt = req.Documents[i].MediaType
		}
		out.Results[i] = providers.MarkdownResult{Name: name, MediaType: mt, Markdown: r.Data, Tokens: tokens}
		out.Usage.InputTokens += tokens
	}
	return out, nil
}

// markdownResult is one entry of the answer. tokens is a number in the published
// example and a string in Cloudflare's OpenAPI schema (cloudflare-go's
// ToMarkdownTransformResponse), so both are read.
type markdownResult struct {
	Name     string          `json:"name"`
	MimeType string          `json:"mimeType"`
	Format   string          `json:"format"`
	Tokens   json.RawMessage `json:"tokens"`
	Data     string          `json:"data"`
	Error    string          `json:"error"`
}

func (r markdownResult) tokens() (int, error) {
	s := strings.Trim(strings.TrimSpace(string(r.Tokens)), `"`)
	if s == "" || s == "null" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("answer's tokens %s is not a count", r.Tokens)
	}
	return n, nil
}

// markdownBody writes the multipart form: one "files" part per document, its name as
// the file name and its media type as the part's Content-Type.
func markdownBody(docs []providers.Document) ([]byte, string, error) {
	if len(docs) == 0 {
		return nil, "", fmt.Errorf("no documents to convert")
	}
	total := 0
	for _, d := range docs {
		if len(d.Data) == 0 {
			return nil, "", fmt.Errorf("%s is empty (0 bytes)", d.Name)
		}
		total += len(d.Data)
	}
	if total > maxMarkdownRequest {
		return nil, "", fmt.Errorf("the documents have %d bytes together; one request takes at most %d (convert them one per item with for_each)", total, maxMarkdownRequest)
	}
	var buf bytes.Buffer
	buf.Grow(total + 512*len(docs))
	w := multipart.NewWriter(&buf)
	for _, d := range docs {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="files"; filename="`+safeFileName(d.Name)+`"`)
		mt := d.MediaType
		if mt == "" {
			mt = "application/octet-stream"
		}
		h.Set("Content-Type", mt)
		part, err := w.CreatePart(h)
		if err != nil {
			return nil, "", err
		}
		if _, err := part.Write(d.Data); err != nil {
			return nil, "", err
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// safeFileName keeps a file name to one header line without quotes or backslashes.
func safeFileName(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, name)
}
