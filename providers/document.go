package providers

import "context"

// TaskToMarkdown is document conversion to Markdown (the to-markdown step).
const TaskToMarkdown Task = "to-markdown"

// Document is one file to convert: its bytes, the media type they were stored with and a
// file name (converters read the extension when the media type is generic).
type Document struct {
	Name      string
	MediaType string
	Data      []byte
}

// MarkdownRequest asks for the Markdown of one or more documents, converted in order.
type MarkdownRequest struct {
	Model     string // "" for the provider's converter
	Documents []Document
	Gateway   *GatewayOptions
}

// MarkdownResult is one converted document. Tokens is 0 when the converter gives none.
type MarkdownResult struct {
	Name      string
	MediaType string
	Markdown  string
	Tokens    int
}

// MarkdownResponse holds one result per requested document, in request order. A
// document the converter could not read fails the whole call with an error naming it.
type MarkdownResponse struct {
	Results []MarkdownResult
	Usage   Usage
	Meta    Meta
}

// MarkdownConverter serves TaskToMarkdown.
type MarkdownConverter interface {
	ToMarkdown(ctx context.Context, req MarkdownRequest) (MarkdownResponse, error)
}
