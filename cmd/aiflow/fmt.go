package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/pmezard/go-difflib/difflib"
	"gopkg.in/yaml.v3"
)

func init() {
	register(command{name: "fmt", summary: "Rewrite flow files in canonical form (--check to only report)", run: fmtCmd})
}

// fmtFile is one file's entry in fmt -o json.
type fmtFile struct {
	File    string `json:"file"`
	Changed bool   `json:"changed"` // rewritten, or with --check: would be
	Diff    string `json:"diff,omitempty"`
	Error   string `json:"error,omitempty"`
}

func fmtCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("fmt", stderr)
	check := fs.Bool("check", false, "print a diff of files that are not formatted; change nothing (exit 1 if any)")
	o := outputFlag(fs)
	pos, v, err := parseCommand(fs, o, args, stdout, stderr)
	if err != nil {
		return v.failArgs(err)
	}
	if len(pos) == 0 {
		return v.fail(errUsage, errors.New("usage: aiflow fmt [--check] [-o json] flow.yaml…"), nil)
	}
	files := make([]fmtFile, 0, len(pos))
	bad := 0
	for _, path := range pos {
		f := formatFile(path, *check)
		files = append(files, f)
		if f.Error != "" || (*check && f.Changed) {
			bad++
		}
		if v.json {
			continue
		}
		switch {
		case f.Error != "":
			fmt.Fprintf(stderr, "Error: %s\n", f.Error)
		case *check:
			io.WriteString(stdout, f.Diff)
		case f.Changed:
			fmt.Fprintln(stdout, path)
		}
	}
	if v.json {
		doc := map[string]any{"format_version": jsonFormatVersion, "files": files, "diagnostics": diagList(nil)}
		if bad > 0 {
			doc["error"] = map[string]any{"kind": errInvalidFlow, "message": fmtFailure(bad, len(files), *check)}
		}
		v.writeJSON(doc)
	}
	if bad > 0 {
		return exitError
	}
	return exitOK
}

// formatFile formats one file, rewriting it unless check, and says what changed.
func formatFile(path string, check bool) fmtFile {
	f := fmtFile{File: path}
	src, err := os.ReadFile(path)
	if err != nil {
		f.Error = err.Error()
		return f
	}
	out, err := formatFlow(src)
	if err != nil {
		f.Error = fmt.Sprintf("%s: %v", path, err)
		return f
	}
	if bytes.Equal(src, out) {
		return f
	}
	f.Changed = true
	f.Diff = unifiedDiff(path, src, out)
	if !check {
		if err := os.WriteFile(path, out, 0o644); err != nil {
			f.Error = err.Error()
		}
	}
	return f
}

// fmtFailure is the -o json error message: "2 of 3 files are not formatted".
func fmtFailure(bad, total int, check bool) string {
	what := "could not be formatted"
	if check {
		what = "are not formatted"
		if bad == 1 {
			what = "is not formatted"
		}
	}
	if total == 1 {
		return "the file " + what
	}
	return fmt.Sprintf("%d of %d files %s", bad, total, what)
}

// unifiedDiff is the change from src to out in unified format, three lines of context.
func unifiedDiff(path string, src, out []byte) string {
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: diffLines(src), B: diffLines(out),
		FromFile: path, ToFile: path + " (formatted)", Context: 3,
	})
	if err != nil {
		return ""
	}
	return d
}

// diffLines splits b into lines that each end in a newline, as difflib wants.
func diffLines(b []byte) []string {
	lines := strings.SplitAfter(string(b), "\n")
	if lines[len(lines)-1] == "" {
		return lines[:len(lines)-1]
	}
	lines[len(lines)-1] += "\n"
	return lines
}

// formatFlow re-encodes a flow with two-space indentation, keeping comments, anchors and
// key order; formatting twice changes nothing.
func formatFlow(src []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	enc.Close()
	padded, err := padFlowMaps(buf.Bytes())
	if err != nil {
		return nil, err
	}
	return spaceSections(wrapFolded(padded)), nil
}

// padFlowMaps writes flow mappings as { key: value } (yaml.v3 writes {key: value}), the
// style of the README and of most hand-written flows. Flow sequences stay [a, b]. It finds
// the flow collections by parsing b, so braces inside strings and ${ } expressions are
// left alone.
func padFlowMaps(b []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	var starts []int // byte offsets of outermost flow collections
	lineStart := lineOffsets(b)
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && n.Style&yaml.FlowStyle != 0 {
			if off, ok := runeOffset(b, lineStart, n.Line, n.Column); ok {
				starts = append(starts, off)
			}
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	out := b
	for i := len(starts) - 1; i >= 0; i-- { // from the end, so earlier offsets stay valid
		out = padFlowAt(out, starts[i])
	}
	return out, nil
}

// lineOffsets returns the byte offset where each line (1-based) begins.
func lineOffsets(b []byte) []int {
	offs := []int{0, 0}
	for i, c := range b {
		if c == '\n' {
			offs = append(offs, i+1)
		}
	}
	return offs
}

// runeOffset converts a yaml.v3 position (1-based line, 1-based column in characters) to
// a byte offset in b.
func runeOffset(b []byte, lineStart []int, line, col int) (int, bool) {
	if line < 1 || line >= len(lineStart) {
		return 0, false
	}
	off := lineStart[line]
	for c := 1; c < col && off < len(b); c++ {
		_, size := utf8.DecodeRune(b[off:])
		off += size
	}
	return off, off < len(b) && (b[off] == '{' || b[off] == '[')
}

// padFlowAt rewrites the flow collection starting at b[start], whose strings are quoted
// (a plain scalar in flow context cannot hold a bracket or a brace): "{" becomes "{ " and
// "}" becomes " }", except in an empty map "{}".
func padFlowAt(b []byte, start int) []byte {
	var out bytes.Buffer
	out.Write(b[:start])
	depth, quote := 0, byte(0)
	i := start
	for i < len(b) {
		c, w := b[i], string(b[i])
		switch {
		case quote == '"' && c == '\\' && i+1 < len(b):
			w = string(b[i : i+2])
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '{' && i+1 < len(b) && b[i+1] == '}':
			w = "{}"
		case c == '{':
			depth, w = depth+1, "{ "
		case c == '}':
			depth, w = depth-1, " }"
		case c == '[':
			depth++
		case c == ']':
			depth--
		}
		out.WriteString(w)
		i += len(w)
		if w == " }" || w == "{ " {
			i-- // one byte of input
		}
		if depth == 0 && quote == 0 {
			break
		}
	}
	out.Write(b[i:])
	return out.Bytes()
}

// foldWidth is where folded (>) scalars are wrapped; yaml.v3 writes them on one line.
const foldWidth = 88

// wrapFolded re-wraps the lines of folded block scalars at word boundaries. In a folded
// scalar a single line break reads as a space, so wrapping does not change the value.
func wrapFolded(b []byte) []byte {
	lines := strings.Split(string(b), "\n")
	var out []string
	folded, keyIndent := false, 0
	for _, l := range lines {
		indent := len(l) - len(strings.TrimLeft(l, " "))
		trimmed := strings.TrimSpace(l)
		if folded && (trimmed == "" || indent > keyIndent) && len(l) > foldWidth && !strings.HasPrefix(l[indent:], " ") {
			out = append(out, wrapLine(l[indent:], strings.Repeat(" ", indent))...)
			continue
		}
		if trimmed != "" && indent <= keyIndent {
			folded = false
		}
		if strings.HasSuffix(trimmed, ": >") || strings.HasSuffix(trimmed, ": >-") || trimmed == "- >" || trimmed == "- >-" {
			folded, keyIndent = true, indent
		}
		out = append(out, l)
	}
	return []byte(strings.Join(out, "\n"))
}

func wrapLine(text, indent string) []string {
	var out []string
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(w) > foldWidth {
			out = append(out, line)
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	return append(out, line)
}

// spaceSections puts one blank line before every top-level key and every step, with the
// comments that precede them, as hand-written flows do.
func spaceSections(b []byte) []byte {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	var out [][]byte
	inSteps := false
	for i, l := range lines {
		top := len(l) > 0 && l[0] != ' ' && l[0] != '#' && l[0] != '-'
		if top {
			inSteps = bytes.HasPrefix(l, []byte("steps:"))
		}
		step := inSteps && len(l) > 2 && bytes.HasPrefix(l, []byte("  ")) && l[2] != ' ' && l[2] != '#' && l[2] != '-'
		section := top && bytes.HasSuffix(l, []byte(":"))
		if (section || step) && i > 0 {
			j := len(out)
			for j > 0 && isComment(out[j-1]) {
				j--
			}
			if j > 0 && len(bytes.TrimSpace(out[j-1])) > 0 && !(step && bytes.HasPrefix(out[j-1], []byte("steps:"))) {
				out = append(out[:j], append([][]byte{{}}, out[j:]...)...)
			}
		}
		out = append(out, l)
	}
	return append(bytes.Join(out, []byte("\n")), '\n')
}

func isComment(l []byte) bool { return bytes.HasPrefix(bytes.TrimLeft(l, " "), []byte("#")) }
