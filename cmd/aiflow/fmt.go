package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

func init() {
	register(command{name: "fmt", summary: "Rewrite flow files in canonical form (--check to only report)", run: fmtCmd})
}

func fmtCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("fmt", stderr)
	check := fs.Bool("check", false, "report files that are not formatted; change nothing (exit 1 if any)")
	pos, err := parseArgs(fs, args)
	v := view{stdout: stdout, stderr: stderr}
	if err != nil {
		return exitError
	}
	if len(pos) == 0 {
		return v.fail(errUsage, errors.New("usage: aiflow fmt [--check] flow.yaml…"), nil)
	}
	code := exitOK
	for _, path := range pos {
		src, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			code = exitError
			continue
		}
		out, err := formatFlow(src)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
			code = exitError
			continue
		}
		if bytes.Equal(src, out) {
			continue
		}
		if *check {
			fmt.Fprintln(stdout, path)
			code = exitError
			continue
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			code = exitError
			continue
		}
		fmt.Fprintln(stdout, path)
	}
	return code
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
	return spaceSections(wrapFolded(buf.Bytes())), nil
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
