package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aiflow/aiflow/internal/testfiles"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/cli")

// goldenSep separates a CLI golden's input from its expected output.
const goldenSep = "----------"

// cliCase is one testdata/cli/*.txt file:
//
//	validate -o json flow.yaml        ← command line (several joined with " && ")
//	aiflow: 1                         ← flow.yaml, if any
//	...
//	-- doc.txt --                     ← further files, txtar style
//	...
//	----------
//	<stdout and stderr, then "[exit N]" per command>
//
// Commands run in-process in a fresh directory holding the files; "$RUN" in a command
// stands for the last run id printed so far.
type cliCase struct {
	header   string // everything before the separator, kept verbatim on -update
	commands []string
	files    map[string]string
	want     string
}

func TestCLI(t *testing.T) {
	files, err := filepath.Glob("testdata/cli/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files in testdata/cli (%v)", err)
	}
	defer func(c string) { apertiumCommand = c }(apertiumCommand)
	apertiumCommand = fakeApertium(t, "eng-spa", "spa-eng") // the pairs .ci/deps installs
	for _, file := range files {
		file, _ := filepath.Abs(file) // the case runs in its own directory
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			c := readCase(t, file)
			got := c.run(t)
			if *update {
				if err := os.WriteFile(file, []byte(c.header+goldenSep+"\n"+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("%s: output differs (-want +got); rerun with -update to accept:\n%s", file, diff)
			}
		})
	}
}

func readCase(t *testing.T, path string) cliCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, want, ok := strings.Cut(string(b), goldenSep+"\n")
	if !ok {
		t.Fatalf("%s: no %s line", path, goldenSep)
	}
	cmdLine, body, _ := strings.Cut(head, "\n")
	c := cliCase{header: head, commands: strings.Split(cmdLine, " && "), files: map[string]string{}, want: want}
	name := "flow.yaml"
	marker := regexp.MustCompile(`^-- (\S+) --$`)
	for _, line := range strings.SplitAfter(body, "\n") {
		if m := marker.FindStringSubmatch(strings.TrimSuffix(line, "\n")); m != nil {
			name = m[1]
			c.files[name] += ""
			continue
		}
		if line != "" {
			c.files[name] += line
		}
	}
	return c
}

// run executes the commands in a temporary directory and returns their normalised output.
func (c cliCase) run(t *testing.T) string {
	dir := t.TempDir()
	testfiles.Write(t, dir, c.files)
	t.Chdir(dir)
	var out strings.Builder
	lastRun := ""
	for _, cmd := range c.commands {
		cmd = strings.ReplaceAll(cmd, "$RUN", lastRun)
		var buf bytes.Buffer
		code := run(splitArgs(cmd), &buf, &buf)
		if len(c.commands) > 1 {
			fmt.Fprintf(&out, "$ aiflow %s\n", cmd)
		}
		if ids := runIDPattern.FindAllString(buf.String(), -1); len(ids) > 0 {
			lastRun = ids[len(ids)-1]
		}
		out.Write(buf.Bytes())
		if buf.Len() > 0 && !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
			out.WriteString("\n")
		}
		fmt.Fprintf(&out, "[exit %d]\n", code)
	}
	return normalise(out.String(), dir)
}

// splitArgs splits a command line on spaces, honouring single and double quotes.
func splitArgs(s string) []string {
	var args []string
	var cur strings.Builder
	var quote rune
	inArg := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inArg = r, true
		case r == ' ':
			if inArg {
				args, inArg = append(args, cur.String()), false
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args
}

var (
	runIDPattern  = regexp.MustCompile(`r-\d{8}-\d{6}-[0-9a-f]+`)
	timePattern   = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?`)
	durPattern    = regexp.MustCompile(`\b(\d+h)?(\d+m)?\d+(\.\d+)?(ms|µs|us|ns|s)\b`)
	elapsedJSON   = regexp.MustCompile(`"(elapsed_ns)": \d+`)
	columnPadding = regexp.MustCompile(`(\S) {2,}`)
	commandLine   = regexp.MustCompile(`(?m)^Commands:\n(  \S+ +.*\n)+`)
)

// normalise replaces what varies between runs (directories, run ids, times, durations,
// the column widths they cause) and the command list, which grows as verbs are added
// (TestUsageListsEveryCommand checks it).
func normalise(s, dir string) string {
	if real, err := filepath.EvalSymlinks(dir); err == nil && real != dir {
		s = strings.ReplaceAll(s, real, "$DIR")
	}
	s = strings.ReplaceAll(s, dir, "$DIR")
	s = runIDPattern.ReplaceAllString(s, "r-ID")
	s = timePattern.ReplaceAllString(s, "TIME")
	s = elapsedJSON.ReplaceAllString(s, `"$1": 0`)
	s = durPattern.ReplaceAllString(s, "DUR")
	s = commandLine.ReplaceAllString(s, "Commands:\n  (list)\n")
	return columnPadding.ReplaceAllString(s, "$1  ")
}

func TestUsageListsEveryCommand(t *testing.T) {
	var buf bytes.Buffer
	if code := run([]string{"help"}, &buf, &buf); code != exitOK {
		t.Fatalf("help: exit %d", code)
	}
	for name, c := range commands {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + ` +` + regexp.QuoteMeta(c.summary) + `$`).MatchString(buf.String()) {
			t.Errorf("usage does not list %q with its summary:\n%s", name, buf.String())
		}
	}
	for _, want := range []string{"models", "cache", "test"} {
		if _, ok := commands[want]; !ok {
			t.Errorf("command %q is not registered", want)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"plain", "run -o json flow.yaml", []string{"run", "-o", "json", "flow.yaml"}},
		{"double quotes", `run --var "q=a b" f`, []string{"run", "--var", "q=a b", "f"}},
		{"single quotes inside an arg", `--var q='x  y'`, []string{"--var", "q=x  y"}},
		{"empty quoted", `a "" b`, []string{"a", "", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, splitArgs(tt.in)); diff != "" {
				t.Errorf("splitArgs(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestNormalise(t *testing.T) {
	in := "Run r-20261201-181503-042f9c1a succeeded in 12.5ms.\n\"elapsed_ns\": 123456,\nA      B  C\nstarted: 2026-12-01T18:15:03Z\n"
	want := "Run r-ID succeeded in DUR.\n\"elapsed_ns\": 0,\nA  B  C\nstarted: TIME\n"
	if diff := cmp.Diff(want, normalise(in, "/nowhere")); diff != "" {
		t.Errorf("normalise (-want +got):\n%s", diff)
	}
}
