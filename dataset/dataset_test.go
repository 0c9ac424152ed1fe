package dataset_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/dataset"
	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
	"github.com/aiflow/aiflow/steps/transform"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// got is a row as the tests compare it.
type got struct {
	N, Line int
	Data    map[string]any
	Err     string
}

func readAll(t *testing.T, s dataset.Source) []got {
	t.Helper()
	var out []got
	for {
		r, ok := s.Next()
		if !ok {
			break
		}
		g := got{N: r.N, Line: r.Line, Data: r.Data}
		if r.Err != nil {
			g.Err = r.Err.Error()
		}
		out = append(out, g)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSources(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.md", "alpha")
	write(t, dir, "b.md", "beta")
	for _, tc := range []struct {
		name, file, body string
		cols             []string
		total            int
		want             []got
	}{
		{
			name: "jsonl with a malformed line, a blank line and a non-object", file: "rows.jsonl",
			body: "{\"q\":\"a\",\"n\":1}\n{bad\n\n{\"q\":\"c\",\"n\":2.5}\n[1]\n",
			cols: []string{"n", "q"}, total: 4,
			want: []got{
				{N: 1, Line: 1, Data: map[string]any{"q": "a", "n": 1}},
				{N: 2, Line: 2, Err: "rows.jsonl:2: malformed JSON"},
				{N: 3, Line: 4, Data: map[string]any{"q": "c", "n": 2.5}},
				{N: 4, Line: 5, Err: "rows.jsonl:5: a row must be a JSON object, got an array"},
			},
		},
		{
			name: "jsonl whose first line is malformed still has columns", file: "first.jsonl",
			body: "nope\n{\"q\":\"b\"}\n", cols: []string{"q"}, total: 2,
			want: []got{{N: 1, Line: 1, Err: "first.jsonl:1: malformed JSON"}, {N: 2, Line: 2, Data: map[string]any{"q": "b"}}},
		},
		{
			name: "csv with a short record and a quoted field over two lines", file: "rows.csv",
			body: "question,source\nwhat,a.md\nshort\n\"two\nlines\",b.md\n",
			cols: []string{"question", "source"}, total: 4,
			want: []got{
				{N: 1, Line: 2, Data: map[string]any{"question": "what", "source": "a.md"}},
				{N: 2, Line: 3, Err: "rows.csv:3: 1 fields, want 2 (question, source)"},
				{N: 3, Line: 4, Data: map[string]any{"question": "two\nlines", "source": "b.md"}},
			},
		},
		{
			name: "glob: one row per file, sorted", file: "*.md",
			cols: []string{"name", "path", "text"}, total: 2,
			want: []got{
				{N: 1, Data: map[string]any{"name": "a.md", "path": filepath.Join(dir, "a.md"), "text": "alpha"}},
				{N: 2, Data: map[string]any{"name": "b.md", "path": filepath.Join(dir, "b.md"), "text": "beta"}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			if tc.body != "" {
				write(t, dir, tc.file, tc.body)
			}
			s, err := dataset.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if diff := cmp.Diff(tc.cols, s.Columns()); diff != "" {
				t.Errorf("columns (-want +got):\n%s", diff)
			}
			if s.Total() != tc.total {
				t.Errorf("Total() = %d, want %d", s.Total(), tc.total)
			}
			rows := readAll(t, s)
			for i := range rows { // error texts: the prefix that names file:line
				rows[i].Err = strings.TrimPrefix(rows[i].Err, dir+string(filepath.Separator))
				if i < len(tc.want) && tc.want[i].Err != "" && strings.HasPrefix(rows[i].Err, tc.want[i].Err) {
					rows[i].Err = tc.want[i].Err
				}
			}
			if diff := cmp.Diff(tc.want, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ path, want string }{
		{write(t, dir, "x.txt", "hi"), "unknown dataset format"},
		{filepath.Join(dir, "none", "*.md"), "no file matches"},
		{write(t, dir, "empty.csv", ""), "empty CSV file"},
		{write(t, dir, "dup.csv", "a,a\n1,2\n"), `repeated name "a"`},
	} {
		if _, err := dataset.Open(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s) = %v, want an error containing %q", tc.path, err, tc.want)
		}
	}
}

func TestResolveMap(t *testing.T) {
	vars := []string{"question", "top_k"}
	for _, tc := range []struct {
		name     string
		cols     []string
		explicit map[string]string
		want     map[string]string
		err      string
	}{
		{name: "same names map themselves", cols: []string{"question", "other"}, want: map[string]string{"question": "question"}},
		{name: "explicit wins", cols: []string{"question", "q"}, explicit: map[string]string{"question": "q"}, want: map[string]string{"question": "q"}},
		{name: "unknown var", cols: []string{"q"}, explicit: map[string]string{"questoin": "q"}, err: `--map questoin=q: the flow has no var "questoin" (did you mean "question"?) (vars: question, top_k)`},
		{name: "unknown column", cols: []string{"query"}, explicit: map[string]string{"question": "qery"}, err: `--map question=qery: the dataset has no column "qery" (did you mean "query"?) (columns: query)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dataset.ResolveMap(vars, tc.cols, tc.explicit)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := dataset.ParseMap([]string{"novalue"}); err == nil {
		t.Error("ParseMap(novalue): no error")
	}
}

const upperFlow = `aiflow: 1
name: upper
vars:
  q: { type: string }
  n: { type: integer, default: 1 }
steps:
  up:
    uses: transform
    with:
      expr: ${ upper(vars.q) + string(vars.n) }
outputs:
  out: ${ steps.up.output.value }
`

func compile(t testing.TB, src string) *engine.Flow {
	t.Helper()
	reg := steps.NewRegistry()
	reg.Register(transform.Kind)
	f, diags := spec.Parse("flow.yaml", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	fl, diags := engine.Compile(f, engine.Options{Steps: reg, Providers: providers.NewRegistry()})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return fl
}

type line struct {
	Row     int            `json:"row"`
	Status  string         `json:"status"`
	Error   string         `json:"error"`
	Outputs map[string]any `json:"outputs"`
}

func decodeLines(t *testing.T, b []byte) []line {
	t.Helper()
	var out []line
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var x line
		if err := json.Unmarshal(l, &x); err != nil {
			t.Fatalf("results line %q: %v", l, err)
		}
		out = append(out, x)
	}
	return out
}

// TestRunOrderAndFailures: many rows in parallel come out in input order; a malformed
// row and a row whose var has the wrong type fail alone; Skip leaves the first rows out.
func TestRunOrderAndFailures(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	const n = 300
	for i := 1; i <= n; i++ {
		switch i {
		case 7:
			b.WriteString("{oops\n")
		case 9:
			b.WriteString(`{"q":"x","n":"many"}` + "\n")
		default:
			b.WriteString(`{"q":"r` + strings.Repeat("x", i%5) + `","n":` + itoa(i) + "}\n")
		}
	}
	rows := write(t, dir, "rows.jsonl", b.String())
	fl := compile(t, upperFlow)
	st, err := store.Open(filepath.Join(dir, ".aiflow"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, skip := range []int{0, 250} {
		src, err := dataset.Open(rows)
		if err != nil {
			t.Fatal(err)
		}
		m, err := dataset.ResolveMap([]string{"q", "n"}, src.Columns(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		stats, err := dataset.Run(context.Background(), dataset.Options{Flow: fl, Source: src, Map: m, Run: engine.RunOptions{Store: st}, Parallelism: 8, Results: &out, Skip: skip})
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
		lines := decodeLines(t, out.Bytes())
		if len(lines) != n-skip || stats.Done != n-skip {
			t.Fatalf("skip %d: %d lines, %d done; want %d", skip, len(lines), stats.Done, n-skip)
		}
		failed := 0
		for i, l := range lines {
			if l.Row != skip+i+1 {
				t.Fatalf("skip %d: line %d holds row %d", skip, i+1, l.Row)
			}
			switch l.Row {
			case 7:
				if l.Status != "failed" || !strings.Contains(l.Error, "rows.jsonl:7: malformed JSON") {
					t.Errorf("row 7: %+v, want failed naming rows.jsonl:7", l)
				}
			case 9:
				if l.Status != "failed" || !strings.Contains(l.Error, "n") {
					t.Errorf("row 9: %+v, want failed on var n", l)
				}
			default:
				if want := "R" + strings.Repeat("X", l.Row%5) + itoa(l.Row); l.Status != "succeeded" || l.Outputs["out"] != want {
					t.Errorf("row %d: %+v, want out %q", l.Row, l, want)
				}
			}
			if l.Status == "failed" {
				failed++
			}
		}
		if stats.Failed != failed {
			t.Errorf("stats.Failed = %d, results hold %d", stats.Failed, failed)
		}
	}
	runs, err := st.ListRuns(context.Background(), store.ListRunsOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 0 {
		t.Errorf("the store lists %d runs after a dataset run; rows must not be recorded as runs", len(runs))
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestOpenResultsResume: a results file cut mid-line by a kill keeps its whole lines, and
// the count of rows they hold is where the resume starts; a file of other rows is refused.
func TestOpenResultsResume(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body string
		done       int
		keep       string
		err        string
	}{
		{name: "missing file", done: 0},
		{name: "whole lines", body: "{\"row\":1}\n{\"row\":2}\n", done: 2, keep: "{\"row\":1}\n{\"row\":2}\n"},
		{name: "cut last line", body: "{\"row\":1}\n{\"row\":2}\n{\"row\":3,\"out", done: 2, keep: "{\"row\":1}\n{\"row\":2}\n"},
		{name: "not in order", body: "{\"row\":1}\n{\"row\":3}\n", err: "row 3 where row 2 was expected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".jsonl")
			if tc.body != "" {
				write(t, dir, filepath.Base(p), tc.body)
			}
			f, done, err := dataset.OpenResults(p, true)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("{\"row\":" + itoa(done+1) + "}\n")
			f.Close()
			b, _ := os.ReadFile(p)
			if want := tc.keep + "{\"row\":" + itoa(done+1) + "}\n"; done != tc.done || string(b) != want {
				t.Errorf("done %d, file %q; want %d, %q", done, b, tc.done, want)
			}
		})
	}
}
