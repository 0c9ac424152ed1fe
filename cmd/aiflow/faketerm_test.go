package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

// fakeTerm is a terminal of fixed width that both stdout and stderr write to, as on a
// real one. It understands what the progress view sends (printable text, \r, \n, ESC[nA,
// ESC[J, ESC[K), wraps text that reaches the right edge, and records as a problem any
// line of stderr that wrapped and any other escape sequence.
type fakeTerm struct {
	width    int
	cells    *runewidth.Condition
	rows     [][]string // one cell per column; "" continues a wide character
	row, col int
	escapes  int // escape sequences received
	problems []string
}

func newFakeTerm(width int) *fakeTerm {
	return &fakeTerm{width: width, cells: &runewidth.Condition{}, rows: [][]string{nil}}
}

// screen is the progress view's screen on this terminal's stderr.
func (t *fakeTerm) screen() screen {
	return screen{w: termWriter{t, "stderr"}, tty: true, width: func() int { return t.width }, cells: t.cells}
}

// stdout is the terminal seen as stdout.
func (t *fakeTerm) stdout() termWriter { return termWriter{t, "stdout"} }

type termWriter struct {
	t    *fakeTerm
	name string
}

func (w termWriter) Write(b []byte) (int, error) {
	w.t.write(w.name, string(b))
	return len(b), nil
}

func (t *fakeTerm) write(from, s string) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\r':
			t.col = 0
		case r == '\n':
			t.newline()
		case r == 0x1b:
			size = t.escape(from, s[i:])
		default:
			t.put(from, r)
		}
		i += size
	}
}

// escape applies the CSI sequence at the start of s and returns its length.
func (t *fakeTerm) escape(from, s string) int {
	t.escapes++
	end := 2
	for end < len(s) && (s[end] < 0x40 || s[end] > 0x7e) {
		end++
	}
	if len(s) < 3 || s[1] != '[' || end == len(s) {
		t.problems = append(t.problems, fmt.Sprintf("%s: unsupported escape %q", from, s))
		return len(s)
	}
	arg, cmd := s[2:end], s[end]
	n := 1
	if arg != "" {
		n, _ = strconv.Atoi(arg)
	}
	switch cmd {
	case 'A':
		t.row = max(t.row-n, 0)
	case 'J':
		t.rows = t.rows[:t.row+1]
		t.clearLine()
	case 'K':
		t.clearLine()
	default:
		t.problems = append(t.problems, fmt.Sprintf("%s: unsupported escape %q", from, s[:end+1]))
	}
	return end + 1
}

func (t *fakeTerm) clearLine() {
	if r := t.rows[t.row]; len(r) > t.col {
		t.rows[t.row] = r[:t.col]
	}
}

func (t *fakeTerm) newline() {
	t.row++
	t.col = 0
	for len(t.rows) <= t.row {
		t.rows = append(t.rows, nil)
	}
}

func (t *fakeTerm) put(from string, r rune) {
	w := t.cells.RuneWidth(r)
	if w == 0 { // a combining mark joins the character before it
		if row := t.rows[t.row]; t.col > 0 && len(row) >= t.col {
			row[t.col-1] += string(r)
		}
		return
	}
	if t.col+w > t.width {
		if from == "stderr" {
			t.problems = append(t.problems, fmt.Sprintf("stderr: line wrapped at %d columns: %q", t.width, t.line(t.row)))
		}
		t.newline()
	}
	row := t.rows[t.row]
	for len(row) < t.col+w {
		row = append(row, " ")
	}
	row[t.col] = string(r)
	for k := 1; k < w; k++ {
		row[t.col+k] = ""
	}
	t.rows[t.row] = row
	t.col += w
}

func (t *fakeTerm) line(i int) string { return strings.TrimRight(strings.Join(t.rows[i], ""), " ") }

// String is what the terminal shows, one line per row.
func (t *fakeTerm) String() string {
	lines := make([]string, len(t.rows))
	for i := range t.rows {
		lines[i] = t.line(i)
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}
