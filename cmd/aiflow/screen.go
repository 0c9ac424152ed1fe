package main

import (
	"io"
	"os"
	"strings"

	"github.com/mattn/go-runewidth"
	"golang.org/x/term"
)

// defaultWidth is assumed when a terminal does not report its width.
const defaultWidth = 80

// screen is where the progress view draws: stderr, whether it is an interactive terminal,
// and its width in columns (asked again at every redraw, so a resized window is followed).
// Tests build one around a fake terminal.
type screen struct {
	w     io.Writer
	tty   bool
	width func() int
	cells *runewidth.Condition // how many columns a character takes
}

// newScreen describes w: live drawing only on a terminal that can move its cursor
// (not TERM=dumb), plain lines otherwise.
func newScreen(w io.Writer) screen {
	s := plainScreen(w)
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || os.Getenv("TERM") == "dumb" {
		return s
	}
	s.tty = true
	s.width = func() int {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
		return defaultWidth
	}
	return s
}

// plainScreen is w written to line by line, never redrawn.
func plainScreen(w io.Writer) screen {
	return screen{w: w, width: func() int { return defaultWidth }, cells: runewidth.NewCondition()}
}

// cols is the usable width: one column is kept free, since a line that fills the last
// column makes some terminals wrap and the live block's cursor arithmetic would be off.
func (s screen) cols() int { return max(s.width()-1, 10) }

// fit makes text safe for one terminal line of at most n columns: control characters and
// escape sequences (which could move the cursor) become spaces or go, and what does not
// fit is cut at a character boundary, by display width (wide CJK characters take two
// columns), ending in "…".
func (s screen) fit(text string, n int) string {
	text = sanitize(text)
	if s.cells.StringWidth(text) <= n {
		return text
	}
	return s.cells.Truncate(text, n, "…")
}

// tail keeps the end of text that fits in n columns, starting with "…" when cut: the
// last words of a line still being streamed.
func (s screen) tail(text string, n int) string {
	text = sanitize(text)
	w := s.cells.StringWidth(text)
	if w <= n {
		return text
	}
	return s.cells.TruncateLeft(text, w-n+s.cells.StringWidth("…"), "…")
}

// sanitize drops ANSI escape sequences and turns other control characters into spaces.
func sanitize(text string) string {
	if !strings.ContainsFunc(text, isControl) {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == 0x1b:
			i = skipEscape(text, i)
		case c < 0x20 || c == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return strings.ReplaceAll(b.String(), "\u009b", "")
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r == 0x9b }

// skipEscape returns the index of the last byte of the escape sequence at text[i]: a CSI
// sequence (ESC [ params final) or a two-byte escape.
func skipEscape(text string, i int) int {
	if i+1 >= len(text) {
		return i
	}
	if text[i+1] != '[' {
		return i + 1
	}
	for j := i + 2; j < len(text); j++ {
		if text[j] >= 0x40 && text[j] <= 0x7e {
			return j
		}
	}
	return len(text) - 1
}
