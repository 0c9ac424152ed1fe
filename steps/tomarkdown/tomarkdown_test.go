package tomarkdown

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/blob"
	"github.com/aiflow/aiflow/steps"
)

// fakeBlob is a blob value whose bytes are not in any store: the checks below must
// refuse it before reading.
func fakeBlob(size int64, mt string) map[string]any {
	return blob.Blob{SHA256: strings.Repeat("ab", 32), Size: size, MediaType: mt}.Value()
}

// TestDocumentsRefusedBeforeReading: bad document inputs fail naming the field, without
// reading a byte (the blobs here have none).
func TestDocumentsRefusedBeforeReading(t *testing.T) {
	tests := []struct {
		name   string
		inputs map[string]any
		want   string
	}{
		{"too much together", map[string]any{"document": []any{fakeBlob(60<<20, "application/pdf"), fakeBlob(60<<20, "application/pdf")}},
			"document: the documents have 120.0 MiB together; one step call converts at most 100.0 MiB"},
		{"one too large", map[string]any{"document": fakeBlob(60<<20, "application/pdf")}, "document: the blob has 60.0 MiB; the limit is 50.0 MiB"},
		{"audio", map[string]any{"document": fakeBlob(10, "audio/wav")}, "document: expected a document, got audio/wav"},
		{"empty blob", map[string]any{"document": fakeBlob(0, "application/pdf")}, "document: the document is empty (0 bytes)"},
		{"empty list", map[string]any{"document": []any{}}, "document: the list is empty"},
		{"number", map[string]any{"document": 42}, "document: expected a document blob"},
		{"list item", map[string]any{"document": []any{"text", 42}}, "document[1]: expected a document blob"},
		{"names mismatch", map[string]any{"document": []any{"a", "b"}, "name": []any{"a.txt"}}, "name: 1 names for 2 documents"},
		{"one name for a list", map[string]any{"document": []any{"a", "b"}, "name": "a.txt"}, "name: one name for 2 documents"},
		{"control character", map[string]any{"document": "a", "name": "a\n.txt"}, "holds a control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := documents(&steps.Call{Inputs: tt.inputs})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}
