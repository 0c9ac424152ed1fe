package chunk

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/boundaries.json from the current Split")

// englishCorpus returns about n bytes of English: the sample documents of
// examples/flows/data, concatenated again and again in shuffled orders; with
// reflow, every other one is made a single paragraph (all whitespace runs
// one space) so that chunks must also be cut inside paragraphs.
func englishCorpus(tb testing.TB, n int, reflow bool) string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "flows", "data", "*.md"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no sample documents: %v", err)
	}
	sort.Strings(files)
	var docs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	rng := rand.New(rand.NewSource(18))
	var sb strings.Builder
	for k := 0; sb.Len() < n; {
		for _, i := range rng.Perm(len(docs)) {
			if k++; reflow && k%2 == 0 {
				sb.WriteString(strings.Join(strings.Fields(docs[i]), " "))
			} else {
				sb.WriteString(docs[i])
			}
			sb.WriteString("\n\n")
		}
	}
	return sb.String()
}

// boundaryCase is one entry of testdata/boundaries.json: how Split cut one
// corpus with one set of options, as a count and a hash of every chunk's
// start, end and token count, plus the first few chunks to show.
type boundaryCase struct {
	Chunks int      `json:"chunks"`
	SHA256 string   `json:"sha256"`
	First  [][3]int `json:"first"`
}

func summarize(chunks []Chunk) boundaryCase {
	h := sha256.New()
	c := boundaryCase{Chunks: len(chunks)}
	for i, ch := range chunks {
		fmt.Fprintf(h, "%d %d %d\n", ch.Start, ch.End, ch.Tokens)
		if i < 3 {
			c.First = append(c.First, [3]int{ch.Start, ch.End, ch.Tokens})
		}
	}
	c.SHA256 = fmt.Sprintf("%x", h.Sum(nil))
	return c
}

// TestBoundariesUnchanged compares Split's chunks on a varied corpus with
// those recorded in testdata/boundaries.json, which were produced by the
// splitter before its speed-ups (commit 59516f1): they must stay the same.
func TestBoundariesUnchanged(t *testing.T) {
	rng := rand.New(rand.NewSource(1818))
	var mixed strings.Builder
	for mixed.Len() < 200<<10 {
		mixed.WriteString(randomDoc(rng, 200))
		mixed.WriteString("\n\n")
	}
	var synthetic strings.Builder
	for synthetic.Len() < 200<<10 {
		synthetic.WriteString(prose(rng))
	}
	corpora := map[string]string{
		"english":   englishCorpus(t, 300<<10, true),
		"mixed":     mixed.String(),
		"synthetic": synthetic.String(),
	}
	configs := []Options{
		{Size: 1000, Unit: UnitChars}, {Size: 1000, Overlap: 100, Unit: UnitChars}, {Size: 200, Overlap: 50, Unit: UnitChars},
		{Size: 37, Overlap: 11, Unit: UnitChars},
		{Size: 400}, {Size: 400, Overlap: 40}, {Size: 64, Overlap: 16}, {Size: 9, Overlap: 3},
		{Size: 100, Overlap: 20, Separators: []string{"\n\n", ". ", " "}},
		{Size: 300, Overlap: 30, Unit: UnitChars, Separators: []string{"\n## ", "\n", ", "}},
	}
	got := map[string]boundaryCase{}
	for name, text := range corpora {
		for _, opts := range configs {
			chunks, err := Split(text, opts)
			if err != nil {
				t.Fatalf("%s %s: %v", name, optsName(opts), err)
			}
			got[name+"/"+optsName(opts)] = summarize(chunks)
		}
	}
	const path = "testdata/boundaries.json"
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]boundaryCase
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chunk boundaries changed (-recorded +now):\n%s", diff)
	}
}
