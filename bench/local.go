package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/local"
)

func init() {
	register("local", "offline local provider: embed, summarize, classify, translate throughput on examples/flows/data", benchLocal)
}

// localBenchDuration is how long each local measurement runs.
const localBenchDuration = time.Second

func benchLocal() error {
	chunks, docs, err := localSampleTexts()
	if err != nil {
		return err
	}
	p, err := local.New(providers.Config{Name: "bench", Kind: local.Kind})
	if err != nil {
		return err
	}
	defer p.Close()
	ctx := context.Background()
	words := 0
	for _, c := range chunks {
		words += len(strings.Fields(c))
	}
	fmt.Printf("   corpus: %d paragraphs (%d words), %d documents\n", len(chunks), words, len(docs))
	embedder := p.(providers.Embedder)
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		rate, err := localThroughput(workers, func() error {
			_, err := embedder.Embed(ctx, providers.EmbedRequest{Texts: chunks})
			return err
		})
		if err != nil {
			return err
		}
		fmt.Printf("   embed local/hash-embed (768 dims), %d goroutine(s): %.0f paragraphs/s, %.0f words/s\n",
			workers, rate*float64(len(chunks)), rate*float64(words))
	}
	if err := benchLocalPerText(ctx, p, chunks, docs); err != nil {
		return err
	}
	return benchLocalTranslate(ctx, p, chunks[0])
}

func benchLocalPerText(ctx context.Context, p providers.Provider, chunks, docs []string) error {
	s, c := p.(providers.Summarizer), p.(providers.Classifier)
	cases := []struct {
		name  string
		texts []string
		call  func(string) error
	}{
		{"summarize local/textrank (3 sentences)", docs, func(t string) error {
			_, err := s.Summarize(ctx, providers.SummarizeRequest{Text: t})
			return err
		}},
		{"classify local/vader", chunks, func(t string) error {
			_, err := c.Classify(ctx, providers.ClassifyRequest{Text: t})
			return err
		}},
		{"classify local/zero-shot (3 labels)", chunks, func(t string) error {
			_, err := c.Classify(ctx, providers.ClassifyRequest{Text: t, Labels: []string{"science: physics, biology", "tech: software, servers", "food: bread, coffee"}})
			return err
		}},
	}
	for _, k := range cases {
		i := 0
		rate, err := localThroughput(1, func() error { i++; return k.call(k.texts[i%len(k.texts)]) })
		if err != nil {
			return err
		}
		fmt.Printf("   %s: %.0f texts/s\n", k.name, rate)
	}
	return nil
}

func benchLocalTranslate(ctx context.Context, p providers.Provider, text string) error {
	tr := p.(providers.Translator)
	_, err := tr.Translate(ctx, providers.TranslateRequest{Text: text, From: "en", To: "es"})
	var pe *providers.Error
	if errors.As(err, &pe) {
		fmt.Printf("   translate local/apertium: skipped (%v)\n", err)
		return nil
	}
	if err != nil {
		return err
	}
	rate, err := localThroughput(1, func() error {
		_, err := tr.Translate(ctx, providers.TranslateRequest{Text: text, From: "en", To: "es"})
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("   translate local/apertium eng-spa, one %d-word paragraph per call: %.1f calls/s (%.0f ms each)\n",
		len(strings.Fields(text)), rate, 1000/rate)
	return nil
}

// localThroughput runs call from workers goroutines for localBenchDuration and returns calls/s.
func localThroughput(workers int, call func() error) (float64, error) {
	var mu sync.Mutex
	var firstErr error
	calls := 0
	deadline := time.Now().Add(localBenchDuration)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				err := call()
				mu.Lock()
				calls++
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(calls) / time.Since(start).Seconds(), firstErr
}

// localSampleTexts reads examples/flows/data: its paragraphs and its whole documents.
func localSampleTexts() (chunks, docs []string, err error) {
	files, err := filepath.Glob(filepath.Join("examples", "flows", "data", "*.md"))
	if err != nil || len(files) == 0 {
		return nil, nil, fmt.Errorf("no examples/flows/data/*.md here; run from the repository root")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		docs = append(docs, string(b))
		for _, para := range strings.Split(string(b), "\n\n") {
			if para = strings.TrimSpace(para); para != "" && !strings.HasPrefix(para, "#") {
				chunks = append(chunks, para)
			}
		}
	}
	return chunks, docs, nil
}
