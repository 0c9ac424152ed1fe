package schemacheck_test

import (
	"os"
	"path/filepath"
	"testing"
)

var benchFlow = filepath.Join(root, "spec", "testdata", "valid", "rag.yaml")

// BenchmarkSchemaCheck measures an editor-style check of a RAG flow against schema.json.
func BenchmarkSchemaCheck(b *testing.B) {
	c := checker(b)
	src, err := os.ReadFile(benchFlow)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if err := c.Check(src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGoValidate measures aiflow validate's parse and compile of the same flow.
func BenchmarkGoValidate(b *testing.B) {
	for b.Loop() {
		if diags := goVerdict(benchFlow); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}
