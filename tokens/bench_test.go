package tokens

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// prose returns about n bytes of English-like text with paragraphs.
func prose(n int) string {
	words := strings.Fields("the quick brown fox jumps over a lazy dog while seven tired engineers " +
		"measure throughput, latency and cost of retrieval-augmented generation pipelines in 2024.")
	rng := rand.New(rand.NewSource(42))
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[rng.Intn(len(words))])
		switch rng.Intn(20) {
		case 0:
			b.WriteString(".\n\n")
		case 1:
			b.WriteString(". ")
		default:
			b.WriteByte(' ')
		}
	}
	return b.String()[:n]
}

func BenchmarkCount100KB(b *testing.B) {
	text := prose(100 << 10)
	Count(text) // build the vocabulary outside the timer
	b.SetBytes(int64(len(text)))
	start := cpuTime()
	for b.Loop() {
		Count(text)
	}
	reportCPU(b, start, len(text))
}

func BenchmarkSpans100KB(b *testing.B) {
	text := prose(100 << 10)
	Spans(text)
	b.SetBytes(int64(len(text)))
	start := cpuTime()
	for b.Loop() {
		Spans(text)
	}
	reportCPU(b, start, len(text))
}

// english returns the sample documents of examples/flows/data, repeated to
// about n bytes: real prose, with a vocabulary larger than prose's.
func english(b testing.TB, n int) string {
	files, _ := filepath.Glob("../examples/flows/data/*.md")
	var sb strings.Builder
	for sb.Len() < n {
		for _, f := range files {
			doc, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			sb.Write(doc)
		}
	}
	return sb.String()[:n]
}

func BenchmarkCountEnglish1MB(b *testing.B) {
	text := english(b, 1<<20)
	Count(text)
	b.SetBytes(int64(len(text)))
	start := cpuTime()
	for b.Loop() {
		Count(text)
	}
	reportCPU(b, start, len(text))
}

func BenchmarkSpansEnglish1MB(b *testing.B) {
	text := english(b, 1<<20)
	Spans(text)
	b.SetBytes(int64(len(text)))
	start := cpuTime()
	for b.Loop() {
		Spans(text)
	}
	reportCPU(b, start, len(text))
}
