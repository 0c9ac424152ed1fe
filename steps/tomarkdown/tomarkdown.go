// Package tomarkdown implements the "to-markdown" step kind: documents (blobs: PDF,
// HTML, text, and remotely DOCX, XLSX, images…) to Markdown text, ready for chunk. The
// local provider converts offline (HTML, text, text PDFs); Workers AI's Markdown
// Conversion converts the rest.
package tomarkdown

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/internal/capability"
)

func init() { steps.MustRegister(Kind) }

// Bounds of one call: every document is read into memory and sent in one request.
const (
	maxDocument  = 50 << 20
	maxDocuments = 100
	maxTotal     = 100 << 20 // all documents of one call together
)

// Kind describes the to-markdown step to the registry.
var Kind = steps.Kind{
	Name:    "to-markdown",
	Summary: "Convert documents (PDF, HTML, text; DOCX, XLSX and images remotely) to Markdown.",
	Task:    providers.TaskToMarkdown,
	Inputs: []steps.Field{
		{Name: "document", Type: steps.Any, Required: true, Doc: "A document blob, e.g. ${ blob(\"report.pdf\") } or a bucket-get step's blob, or a list of them (converted in one call); text is taken as text/plain unless name says otherwise."},
		{Name: "name", Type: steps.Any, Doc: "The document's file name (its extension tells the converter the format when the media type is generic), or a list with one name per document. Default: document plus the media type's extension."},
	},
	Outputs: []steps.Field{
		{Name: "markdown", Type: steps.String, Doc: "The Markdown; for a list, every document's joined by a blank line."},
		{Name: "name", Type: steps.String, Doc: "The document's name (a single document; null for a list)."},
		{Name: "media_type", Type: steps.String, Doc: "The document's media type as the converter saw it (a single document; null for a list)."},
		{Name: "tokens", Type: steps.Int, Doc: "Tokens of the Markdown as the converter counts them (the Workers AI converter gives them; null otherwise)."},
		{Name: "documents", Type: steps.List, Doc: "One {name, media_type, markdown, tokens} per document, in order."},
	},
	Keys:          []string{"model", "route"},
	Version:       "1",
	Deterministic: true,
	New:           newConverter,
}

type converter struct {
	at   spec.Pos // where the step names its model, for CheckModel
	path string   // its dotted path
}

var (
	_ steps.Step         = converter{}
	_ steps.ModelChecker = converter{}
)

func newConverter(s *spec.Step) (steps.Step, spec.Diagnostics) {
	var c converter
	c.at, c.path = s.ModelAt()
	var d spec.Diagnostics
	if in := s.Input("document"); in != nil && !in.Value.HasExpr() {
		switch v := spec.NodeToAny(in.Value.Node).(type) {
		case string, []any:
		default:
			d.Errorf(in.Value.Pos, in.Value.Path, "document: expected a blob such as ${ blob(\"report.pdf\") } or a list of them, got %s", spec.DescribeValue(v))
		}
	}
	return c, d
}

// CheckModel refuses a model id on workers-ai: its Markdown Conversion endpoint takes
// none (write the provider name alone).
func (c converter) CheckModel(providerKind, modelID string) spec.Diagnostics {
	var d spec.Diagnostics
	if providerKind == "workers-ai" && modelID != "" {
		d.Errorf(c.at, c.path, "workers-ai converts documents without a model id: write model: <provider name> (e.g. model: cf), not %q", modelID)
	}
	return d
}

// Run reads the documents and converts them in one call.
func (converter) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	conv, err := capability.Of[providers.MarkdownConverter](call.Model, providers.TaskToMarkdown)
	if err != nil {
		return steps.Result{}, err
	}
	docs, list, err := documents(call)
	if err != nil {
		return steps.Result{}, err
	}
	resp, err := conv.ToMarkdown(ctx, providers.MarkdownRequest{Model: call.Model.ID, Documents: docs, Gateway: call.Model.Gateway})
	if err != nil {
		return steps.Result{}, fmt.Errorf("converting to Markdown with %s: %w", call.Model.Ref(), err)
	}
	if len(resp.Results) != len(docs) {
		return steps.Result{Usage: resp.Usage}, fmt.Errorf("converting to Markdown with %s: %d results for %d documents", call.Model.Ref(), len(resp.Results), len(docs))
	}
	out := map[string]any{"name": nil, "media_type": nil, "tokens": nil}
	rows := make([]any, len(resp.Results))
	parts := make([]string, len(resp.Results))
	total := 0
	for i, r := range resp.Results {
		var tokens any
		if r.Tokens > 0 {
			tokens = r.Tokens
			total += r.Tokens
		}
		rows[i] = map[string]any{"name": r.Name, "media_type": r.MediaType, "markdown": r.Markdown, "tokens": tokens}
		parts[i] = strings.TrimRight(r.Markdown, "\n")
	}
	out["documents"] = rows
	out["markdown"] = strings.Join(parts, "\n\n") + "\n"
	if total > 0 {
		out["tokens"] = total
	}
	if !list {
		out["name"], out["media_type"] = resp.Results[0].Name, resp.Results[0].MediaType
		out["markdown"] = resp.Results[0].Markdown
	}
	return steps.Result{Output: out, Usage: resp.Usage, Meta: resp.Meta, ModelRef: call.Model.Ref()}, nil
}

// documents reads the document input (one value or a list) with its names.
func documents(call *steps.Call) ([]providers.Document, bool, error) {
	v := call.Inputs["document"]
	values, list := v.([]any)
	if !list {
		values = []any{v}
	}
	switch {
	case len(values) == 0:
		return nil, list, fmt.Errorf("document: the list is empty")
	case len(values) > maxDocuments:
		return nil, list, fmt.Errorf("document: %d documents; one step call converts at most %d (use for_each)", len(values), maxDocuments)
	}
	var total int64
	for _, x := range values {
		if b, ok := blob.FromValue(x); ok {
			total += b.Size
		}
	}
	if total > maxTotal {
		return nil, list, fmt.Errorf("document: the documents have %s together; one step call converts at most %s (use for_each over them)", blob.HumanSize(total), blob.HumanSize(maxTotal))
	}
	names, err := nameList(call.Inputs["name"], len(values), list)
	if err != nil {
		return nil, list, err
	}
	docs := make([]providers.Document, len(values))
	for i, x := range values {
		field := "document"
		if list {
			field = fmt.Sprintf("document[%d]", i)
		}
		d, err := document(call, x, names[i], field)
		if err != nil {
			return nil, list, err
		}
		docs[i] = d
	}
	return docs, list, nil
}

// nameList reads name: absent, one string, or one string per document.
func nameList(v any, n int, list bool) ([]string, error) {
	names := make([]string, n)
	switch x := v.(type) {
	case nil:
	case string:
		if list && n > 1 {
			return nil, fmt.Errorf("name: one name for %d documents; give a list with one name per document", n)
		}
		names[0] = x
	case []any:
		if len(x) != n {
			return nil, fmt.Errorf("name: %d names for %d documents", len(x), n)
		}
		for i, s := range x {
			str, ok := s.(string)
			if !ok {
				return nil, fmt.Errorf("name[%d]: expected a file name, got %s", i, spec.DescribeValue(s))
			}
			names[i] = str
		}
	default:
		return nil, fmt.Errorf("name: expected a file name or a list of them, got %s", spec.DescribeValue(v))
	}
	for i, s := range names {
		if strings.ContainsAny(s, "\x00\r\n") {
			return nil, fmt.Errorf("name: %q holds a control character", names[i])
		}
		names[i] = path.Base(strings.ReplaceAll(s, "\\", "/"))
		if s == "" {
			names[i] = ""
		}
	}
	return names, nil
}

// document turns one input value into a document: a blob's bytes, or text.
func document(call *steps.Call, v any, name, field string) (providers.Document, error) {
	if s, ok := v.(string); ok {
		mt := "text/plain"
		if byExt := blob.Detect(nil, name); name != "" && byExt != blob.Generic && byExt != "" && blob.Kind(byExt) == "text" {
			mt = byExt
		}
		if s == "" {
			return providers.Document{}, fmt.Errorf("%s: the text is empty", field)
		}
		if name == "" {
			name = "document" + blob.Ext(mt)
		}
		return providers.Document{Name: name, MediaType: mt, Data: []byte(s)}, nil
	}
	b, ok := blob.FromValue(v)
	if !ok {
		return providers.Document{}, fmt.Errorf("%s: expected a document blob such as ${ blob(\"report.pdf\") } or a bucket-get step's blob, got %s", field, spec.DescribeValue(v))
	}
	if b.Size == 0 {
		return providers.Document{}, fmt.Errorf("%s: the document is empty (0 bytes)", field)
	}
	switch blob.Kind(b.MediaType) {
	case "audio", "video":
		return providers.Document{}, fmt.Errorf("%s: expected a document, got %s (%s); transcribe audio instead", field, b.MediaType, blob.HumanSize(b.Size))
	}
	data, err := steps.Blobs(call.Env).ReadAll(b, maxDocument, field)
	if err != nil {
		return providers.Document{}, err
	}
	if name == "" {
		name = "document" + blob.Ext(b.MediaType)
	}
	return providers.Document{Name: name, MediaType: b.MediaType, Data: data}, nil
}
