package generate

import (
	"strings"
	"testing"

	"github.com/aiflow/aiflow/providers"
)

// BenchmarkFitWindowTruncate estimates a ~12,500-token prompt and cuts it to the 7,968-token
// window of llama-3.1-8b-instruct: the cost truncate adds before a request.
func BenchmarkFitWindowTruncate(b *testing.B) {
	long := strings.Repeat("lorem ipsum dolor sit amet ", 2500)
	msgs := []providers.Message{{Role: "system", Content: "Summarise."}, {Role: "user", Content: long}}
	m := catalogModel(nil)
	b.SetBytes(int64(len(long)))
	for b.Loop() {
		if _, err := fitWindow(m, msgs, nil, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSchemaAnswer validates a small JSON answer against a compiled schema.
func BenchmarkSchemaAnswer(b *testing.B) {
	v, err := compileSchema(citySchema)
	if err != nil {
		b.Fatal(err)
	}
	resp := providers.GenerateResponse{Text: `{"city":"Paris","population":2100000}`}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := v.answer(resp); err != nil {
			b.Fatal(err)
		}
	}
}
