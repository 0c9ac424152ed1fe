// Command chunkpeer races aiflow's chunk.Split against langchaingo's text
// splitters (github.com/tmc/langchaingo/textsplitter: RecursiveCharacter and
// TokenSplitter) on the same text, in one process, and prints throughput and
// how many chunks end a sentence. `go run ./bench chunk` runs it.
//
// It is a module of its own so that langchaingo, a bench-only dependency,
// stays out of aiflow's module graph: requiring it there would raise the
// versions of otel, logr, x/exp and go-difflib linked into the aiflow binary.
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/aiflow/aiflow/steps/chunk"
	"github.com/aiflow/aiflow/tokens"
	"github.com/pkoukk/tiktoken-go"
	"github.com/tiktoken-go/tokenizer/codec"
	"github.com/tmc/langchaingo/textsplitter"
)

func main() {
	data := flag.String("data", "../../examples/flows/data", "directory of the sample Markdown documents")
	mb := flag.Int("mb", 10, "megabytes of text to split")
	rounds := flag.Int("rounds", 2, "rounds; each runs every splitter once, interleaved")
	flag.Parse()
	if err := run(*data, *mb<<20, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "chunkpeer:", err)
		os.Exit(1)
	}
}

// splitter is one contestant: it splits text and returns the chunk texts.
type splitter struct {
	name string
	peer bool // langchaingo's
	unit string
	run  func(text string) ([]string, error)
}

func run(data string, size, rounds int) error {
	tiktoken.SetBpeLoader(offlineLoader{}) // its default loader downloads the vocabulary
	recursive := textsplitter.NewRecursiveCharacter(textsplitter.WithChunkSize(1000), textsplitter.WithChunkOverlap(0))
	tokenSplit := textsplitter.NewTokenSplitter(textsplitter.WithEncodingName("cl100k_base"),
		textsplitter.WithChunkSize(400), textsplitter.WithChunkOverlap(0))
	ours := func(opts chunk.Options) func(string) ([]string, error) {
		return func(text string) ([]string, error) {
			chunks, err := chunk.Split(text, opts)
			texts := make([]string, len(chunks))
			for i, c := range chunks {
				texts[i] = c.Text
			}
			return texts, err
		}
	}
	contestants := []splitter{
		{"aiflow chunk, 1,000 chars", false, "chars", ours(chunk.Options{Size: 1000, Unit: chunk.UnitChars})},
		{"langchaingo RecursiveCharacter, 1,000 chars", true, "chars", recursive.SplitText},
		{"aiflow chunk, 400 cl100k tokens", false, "tokens", ours(chunk.Options{Size: 400})},
		{"langchaingo TokenSplitter, 400 cl100k tokens", true, "tokens", tokenSplit.SplitText},
	}
	// Warm up: vocabularies are built on first use, outside the timings.
	tokens.Count("warm up")
	if _, err := tokenSplit.SplitText("warm up"); err != nil {
		return err
	}
	fmt.Printf("   MB/s: best wall-clock round; MB/CPU-s: MB per CPU-second of the process (median), steadier on a loaded machine\n")
	for _, reflow := range []bool{false, true} {
		text, err := corpus(data, size, reflow)
		if err != nil {
			return err
		}
		what := "as written"
		if reflow {
			what = "every other copy reflowed into one paragraph"
		}
		fmt.Printf("   %.1f MB of English, examples/flows/data shuffled and repeated, %s; %d rounds; load average %s\n",
			float64(len(text))/1e6, what, rounds, loadavg())
		if err := race(text, contestants, rounds); err != nil {
			return err
		}
	}
	return nil
}

// race runs every contestant on text, rounds times, interleaved, and prints
// what it measured.
func race(text string, contestants []splitter, rounds int) error {
	wall := make([][]time.Duration, len(contestants))
	cpu := make([][]time.Duration, len(contestants))
	results := make([][]string, len(contestants))
	for range rounds {
		for i, c := range contestants {
			runtime.GC()
			start, cpuStart := time.Now(), cpuTime()
			out, err := c.run(text)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			wall[i] = append(wall[i], time.Since(start))
			cpu[i] = append(cpu[i], cpuTime()-cpuStart)
			results[i] = out
		}
	}
	mb := float64(len(text)) / 1e6
	for i, c := range contestants {
		w, u := slices.Clone(wall[i]), slices.Clone(cpu[i])
		slices.Sort(w)
		slices.Sort(u)
		fmt.Printf("   %-46s %7.1f MB/s %7.1f MB/CPU-s; %6d chunks, %4.0f chars mean, %4.1f %% end a sentence\n",
			c.name, mb/w[0].Seconds(), mb/u[len(u)/2].Seconds(), len(results[i]), meanChars(results[i]), 100*sentenceEnds(results[i]))
	}
	// Split fills Chunk.Tokens with each chunk's exact cl100k_base count,
	// which langchaingo's splitters do not compute; in chars mode that is
	// most of the work. Time it alone, on the chunks Split returned.
	if i := 0; contestants[i].unit == "chars" && !contestants[i].peer {
		var counting []time.Duration
		for range rounds {
			start := cpuTime()
			for _, c := range results[i] {
				tokens.Count(c)
			}
			counting = append(counting, cpuTime()-start)
		}
		slices.Sort(counting)
		u := slices.Clone(cpu[i])
		slices.Sort(u)
		count, all := counting[len(counting)/2], u[len(u)/2]
		fmt.Printf("   %-46s %7s      %7.1f MB/CPU-s (%.0f %% of chunk's CPU time in chars mode)\n",
			"  of which cl100k counts for Chunk.Tokens", "", mb/count.Seconds(), 100*count.Seconds()/all.Seconds())
	}
	for i := 0; i+1 < len(contestants); i += 2 {
		var ratios []string
		for r := range rounds {
			ratios = append(ratios, fmt.Sprintf("%.2f", wall[i+1][r].Seconds()/wall[i][r].Seconds()))
		}
		u, v := slices.Clone(cpu[i]), slices.Clone(cpu[i+1])
		slices.Sort(u)
		slices.Sort(v)
		fmt.Printf("   %-6s aiflow's speed / langchaingo's: %s by round (wall), %.2f by median CPU time\n",
			contestants[i].unit+":", strings.Join(ratios, ", "), v[len(v)/2].Seconds()/u[len(u)/2].Seconds())
	}
	return nil
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// corpus concatenates the sample documents in shuffled orders up to size
// bytes; with reflow, every other one is made a single paragraph, the recipe
// of englishCorpus in steps/chunk's benchmarks.
func corpus(dir string, size int, reflow bool) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("no sample documents in %s: %v", dir, err)
	}
	sort.Strings(files)
	var docs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		docs = append(docs, string(b))
	}
	rng := rand.New(rand.NewSource(18))
	var sb strings.Builder
	for k := 0; sb.Len() < size; {
		for _, i := range rng.Perm(len(docs)) {
			if k++; reflow && k%2 == 0 { // reflowed into one paragraph
				sb.WriteString(strings.Join(strings.Fields(docs[i]), " "))
			} else {
				sb.WriteString(docs[i])
			}
			sb.WriteString("\n\n")
		}
	}
	return sb.String(), nil
}

// sentenceEnds returns the fraction of chunks whose last non-space
// character, past any closing quotes or brackets, ends a sentence.
func sentenceEnds(chunks []string) float64 {
	if len(chunks) == 0 {
		return 0
	}
	n := 0
	for _, c := range chunks {
		c = strings.TrimRight(strings.TrimSpace(c), "\"')]}”’»*_")
		r, _ := utf8.DecodeLastRuneInString(c)
		if strings.ContainsRune(".!?…。！？", r) {
			n++
		}
	}
	return float64(n) / float64(len(chunks))
}

func meanChars(chunks []string) float64 {
	if len(chunks) == 0 {
		return 0
	}
	total := 0
	for _, c := range chunks {
		total += utf8.RuneCountInString(c)
	}
	return float64(total) / float64(len(chunks))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// offlineLoader gives tiktoken-go the cl100k_base vocabulary from the
// tokenizer aiflow already embeds, by decoding every id, instead of
// downloading it.
type offlineLoader struct{}

func (offlineLoader) LoadTiktokenBpe(string) (map[string]int, error) {
	c := codec.NewCl100kBase()
	ranks := make(map[string]int, 1<<17)
	for id, misses := 0, 0; misses < 4096; id++ {
		tok, err := c.Decode([]uint{uint(id)})
		if err != nil || tok == "" {
			misses++
			continue
		}
		misses = 0
		ranks[tok] = id
	}
	return ranks, nil
}
