// Package flowgen writes synthetic flow files for benchmarks: wide fan-outs and long chains
// of transform steps, and a local ingest, used by engine benchmarks and the bench command
// alike (so the README's figures and the Go benchmarks measure the same flows).
package flowgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Wide returns a flow of n independent transform steps.
func Wide(n int) string {
	var b strings.Builder
	b.WriteString("aiflow: 1\nsteps:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  s%d:\n    uses: transform\n    with:\n      expr: ${ %d * 2 }\n", i, i)
	}
	return b.String()
}

// Chain returns a flow of n transform steps, each reading the previous one's output.
func Chain(n int) string {
	var b strings.Builder
	b.WriteString("aiflow: 1\nsteps:\n  s0:\n    uses: transform\n    with:\n      expr: 0\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  s%d:\n    uses: transform\n    with:\n      expr: ${ steps.s%d.output.value + 1 }\n", i, i-1)
	}
	return b.String()
}

// CachedIngestChunks is how many chunks (and embed items) CachedIngest's flow makes.
const CachedIngestChunks = 1000

// cachedIngest chunks doc.txt into CachedIngestChunks chunks, embeds them with the local
// provider in batches of 100 and upserts them into a local index.
const cachedIngest = `aiflow: 1
resources:
  kb: { kind: vector-index, dimensions: 768 }
steps:
  chunks:
    uses: chunk
    with:
      text: ${ file("doc.txt") }
      size: 20
  vectors:
    uses: embed
    for_each: ${ steps.chunks.output.texts }
    batch: 100
    with:
      text: ${ each.value }
  upsert:
    uses: upsert
    with:
      index: ${ resources.kb }
      vectors: ${ map(steps.vectors.output, .vector) }
      texts: ${ steps.chunks.output.texts }
      source: doc.txt
outputs:
  count: ${ steps.upsert.output.count }
`

// CachedIngest writes an ingest flow and its document into dir and returns the flow
// file's path: chunk → embed (local, one for_each item per chunk) → upsert into a local
// index. Its second run takes every embedding from the cache.
func CachedIngest(dir string) (string, error) {
	var doc strings.Builder
	for i := 0; i < CachedIngestChunks; i++ {
		fmt.Fprintf(&doc, "Paragraph %d talks about topic %d and detail %d in several plain words.\n\n", i, i%37, i*7)
	}
	if err := os.WriteFile(filepath.Join(dir, "doc.txt"), []byte(doc.String()), 0o644); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "ingest.yaml")
	if err := os.WriteFile(path, []byte(cachedIngest), 0o644); err != nil {
		return "", err
	}
	return path, nil
}
