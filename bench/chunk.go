package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/aiflow/aiflow/steps/chunk"
)

func init() {
	register("chunk", "chunking 10 MB of English in chars and cl100k tokens modes, beside langchaingo's textsplitter (bench/chunkpeer)", benchChunk)
}

// benchChunk runs bench/chunkpeer, a module of its own that races chunk.Split
// against langchaingo's RecursiveCharacter and TokenSplitter in one process;
// langchaingo stays out of aiflow's go.mod that way (requiring it there would
// raise the versions of otel, logr and x/exp linked into the aiflow binary).
// When the peer cannot be built, for example with no module cache and no
// network, it measures chunk.Split alone.
func benchChunk() error {
	data, err := filepath.Abs(filepath.Join("examples", "flows", "data"))
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "run", ".", "-data", data)
	cmd.Dir = filepath.Join("bench", "chunkpeer")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Run()
	if err == nil {
		return nil
	}
	fmt.Printf("   langchaingo comparison unavailable (%v); aiflow alone:\n", err)
	docs, err := localSampleDocs(data)
	if err != nil {
		return err
	}
	var text []byte
	for len(text) < 10<<20 {
		for _, d := range docs {
			text = append(append(text, d...), "\n\n"...)
		}
	}
	for _, opts := range []chunk.Options{{Size: 1000, Unit: chunk.UnitChars}, {Size: 400}} {
		start := time.Now()
		chunks, err := chunk.Split(string(text), opts)
		if err != nil {
			return err
		}
		unit := opts.Unit
		if unit == "" {
			unit = chunk.UnitTokens
		}
		fmt.Printf("   chunk %d %s: %.1f MB/s, %d chunks\n", opts.Size, unit, float64(len(text))/1e6/time.Since(start).Seconds(), len(chunks))
	}
	return nil
}

func localSampleDocs(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no sample documents in %s: %v", dir, err)
	}
	var docs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		docs = append(docs, string(b))
	}
	return docs, nil
}
