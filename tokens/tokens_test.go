package tokens

import (
	"encoding/json"
	"math/rand"
	"os"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// goldenCase is one line of testdata/golden.json: a text and the token ids
// tiktoken gives it under each encoding.
type goldenCase map[string]json.RawMessage

func loadGolden(t *testing.T) []goldenCase {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestGolden(t *testing.T) {
	cases := loadGolden(t)
	for _, name := range []string{"cl100k_base", "o200k_base", "p50k_base", "r50k_base"} {
		t.Run(name, func(t *testing.T) {
			e, err := Get(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				var text string
				var want []int
				if err := json.Unmarshal(c["text"], &text); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(c[name], &want); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, e.Encode(text), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("Encode(%q) mismatch (-tiktoken +got):\n%s", text, diff)
				}
				if got := e.Count(text); got != len(want) {
					t.Errorf("Count(%q) = %d, tiktoken has %d tokens", text, got, len(want))
				}
				checkSpans(t, e, text)
			}
		})
	}
}

// checkSpans asserts that Spans tiles text, agrees with Count and, for valid
// UTF-8, that each span's bytes are exactly the token Encode reports.
func checkSpans(t *testing.T, e *Encoder, text string) {
	t.Helper()
	spans := e.Spans(text)
	ids := e.Encode(text)
	if len(spans) != len(ids) || len(ids) != e.Count(text) {
		t.Fatalf("%q: %d spans, %d ids, Count %d", text, len(spans), len(ids), e.Count(text))
	}
	at := 0
	for i, sp := range spans {
		if sp.Start != at || sp.End < sp.Start {
			t.Fatalf("%q: span %d is %v, want it to start at %d", text, i, sp, at)
		}
		at = sp.End
		if utf8.ValidString(text) {
			if id, ok := e.rankTable()[text[sp.Start:sp.End]]; !ok || id != ids[i] {
				t.Fatalf("%q: span %d %q is token %d (known %v), Encode says %d", text, i, text[sp.Start:sp.End], id, ok, ids[i])
			}
		}
	}
	if at != len(text) {
		t.Fatalf("%q: spans end at %d, want %d", text, at, len(text))
	}
}

// referenceEncode is tiktoken's algorithm done entirely here: pre-tokens from
// regexp2's interpreter, then byte-pair merges. Valid UTF-8 only.
func referenceEncode(e *Encoder, s string) []int {
	var ids []int
	m, err := e.interpreter().FindStringMatch(s)
	for m != nil && err == nil {
		e.bytePairEncode(m.String(), func(id, _ int) { ids = append(ids, id) })
		m, err = e.interpreter().FindNextMatch(m)
	}
	return ids
}

// fragments exercise every alternative of the split patterns, and the
// whitespace runs the library gets wrong.
var fragments = []string{
	"a", "word", " the", "HELLO", "camelCase", "I'm", "'S", "0", "123", "45678",
	" ", "  ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ", " \n \n", "\t\n\t\n", "\u00a0", "\u3000",
	".", "!", "...", "/", ",", "\"", "é", "e\u0301", "\u0301", "\u0301\u0302", "日本", "。", "😀", "👍🏽",
	"!\u0301", "a\u0301\n\n \n", "..\n\t\n", "\u2028", "x", "\x7f", "!\x7f", "\x7fa", "//", "\n/", "\n//\u0301",
}

func randomText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(fragments[rng.Intn(len(fragments))])
	}
	return b.String()
}

func TestMatchesReference(t *testing.T) {
	for _, name := range []string{"cl100k_base", "o200k_base"} {
		t.Run(name, func(t *testing.T) {
			e, _ := Get(name)
			rng := rand.New(rand.NewSource(7))
			for range 3000 {
				text := randomText(rng, 1+rng.Intn(40))
				if diff := cmp.Diff(referenceEncode(e, text), e.Encode(text)); diff != "" {
					t.Fatalf("Encode(%q) differs from the reference (-want +got):\n%s", text, diff)
				}
				checkSpans(t, e, text)
			}
		})
	}
}

func TestGet(t *testing.T) {
	for _, name := range Encodings() {
		t.Run(name, func(t *testing.T) {
			e, err := Get(name)
			if err != nil {
				t.Fatal(err)
			}
			if e.Name() != name || e.Count("hello world") != 2 {
				t.Fatalf("Get(%q) = %s counting %d tokens in \"hello world\", want 2", name, e.Name(), e.Count("hello world"))
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		_, err := Get("gpt2")
		want := `unknown encoding "gpt2" (allowed: cl100k_base, o200k_base, p50k_base, p50k_edit, r50k_base)`
		if err == nil || err.Error() != want {
			t.Fatalf("Get(gpt2) error = %v, want %s", err, want)
		}
	})
}

func TestPackageFuncs(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []int
	}{
		{"empty", "", nil},
		{"words", "hello world", []int{15339, 1917}},
		{"blank line with a space", "a\n \nb", []int{64, 27907, 65}},
		{"special token is text", "<|endoftext|>", []int{27, 91, 8862, 728, 428, 91, 29}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Encode(tt.text)); diff != "" {
				t.Errorf("Encode mismatch (-want +got):\n%s", diff)
			}
			if got := Count(tt.text); got != len(tt.want) {
				t.Errorf("Count = %d, want %d", got, len(tt.want))
			}
			if got := len(Spans(tt.text)); got != len(tt.want) {
				t.Errorf("len(Spans) = %d, want %d", got, len(tt.want))
			}
		})
	}
}

func TestCountWith(t *testing.T) {
	if n, err := CountWith("o200k_base", "a\n \nb"); err != nil || n != 3 {
		t.Fatalf("CountWith(o200k_base) = %d, %v; want 3, nil", n, err)
	}
	if _, err := CountWith("nope", "x"); err == nil || !strings.Contains(err.Error(), `unknown encoding "nope"`) {
		t.Fatalf("CountWith(nope) error = %v", err)
	}
}

func TestInvalidUTF8(t *testing.T) {
	tests := []struct{ name, text string }{
		{"lone continuation", "a\x80b"},
		{"truncated rune", "日本\xe8\xaa"},
		{"invalid between spaces", "x \xff\n \n\xfe y"},
		{"all invalid", "\xff\xfe\xfd"},
	}
	for _, name := range Encodings() {
		e, _ := Get(name)
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				// The library tokenizes each invalid byte as U+FFFD.
				want := e.Encode(string([]rune(tt.text)))
				if diff := cmp.Diff(want, e.Encode(tt.text)); diff != "" {
					t.Errorf("Encode mismatch (-as U+FFFD +got):\n%s", diff)
				}
				checkSpans(t, e, tt.text)
			})
		}
	}
}

// TestLongWhitespace guards the linear path: the library alone is quadratic
// on this input (about 7 minutes for 1 MB); here 256 KB takes milliseconds.
func TestLongWhitespace(t *testing.T) {
	for _, unit := range []string{" \n", "\t\n\n", "x\u0301\n \n"} {
		t.Run(strings.ReplaceAll(unit, "\n", `\n`), func(t *testing.T) {
			text := strings.Repeat(unit, (256<<10)/len(unit))
			e := Default()
			if diff := cmp.Diff(referenceEncode(e, text), e.Encode(text)); diff != "" {
				t.Fatalf("long run differs from the reference:\n%.2000s", diff)
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	text := randomText(rand.New(rand.NewSource(1)), 2000)
	want := map[string]int{}
	for _, name := range Encodings() {
		e, _ := Get(name)
		want[name] = e.Count(text)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, name := range Encodings() {
				e, _ := Get(name)
				if got := len(e.Spans(text)); got != want[name] {
					errs <- name
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for name := range errs {
		t.Errorf("%s: concurrent Spans disagreed with Count", name)
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "hello world", "a\n \nb", " \n \n \n", "e\u0301\n \nx", "\xff\n\t\n", "日本語。"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, name := range []string{"cl100k_base", "o200k_base"} {
			e, _ := Get(name)
			checkSpans(t, e, s)
			if utf8.ValidString(s) {
				if diff := cmp.Diff(referenceEncode(e, s), e.Encode(s)); diff != "" {
					t.Fatalf("%s: Encode(%q) differs from the reference:\n%s", name, s, diff)
				}
			}
		}
	})
}
