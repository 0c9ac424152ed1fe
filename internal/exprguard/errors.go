package exprguard

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr/file"
)

// shortExpr is the length up to which an expression is quoted whole in a message and a
// position inside it adds nothing.
const shortExpr = 60

// Message is err's text for a message that already names the file position of the
// expression src: its first line, without expr-lang's own " (line:col)" and snippet,
// which count from the start of the expression and so read like a second, wrong file
// position. In a long or multi-line expression, where the position still helps, it
// says where in the expression instead ("at character 73 of the expression").
func Message(err error, src string) string {
	msg := err.Error()
	var fe *file.Error
	if errors.As(err, &fe) && fe.Snippet != "" {
		suffix := fmt.Sprintf(" (%d:%d)%s", fe.Line, fe.Column+1, fe.Snippet)
		if i := strings.LastIndex(msg, suffix); i >= 0 {
			msg = msg[:i] + msg[i+len(suffix):]
			if where := position(src, fe.Line, fe.Column); where != "" {
				msg = firstLine(msg) + " (" + where + ")"
			}
		}
	}
	return firstLine(msg)
}

// position says where line and column (1-based line, 0-based column in runes) lie in
// src, counting from its first non-space character; "" for a short one-line src.
func position(src string, line, col int) string {
	lead := len(src) - len(strings.TrimLeftFunc(src, unicode.IsSpace))
	body := strings.TrimSpace(src)
	if !strings.Contains(body, "\n") {
		if utf8.RuneCountInString(body) <= shortExpr {
			return ""
		}
		return fmt.Sprintf("at character %d of the expression", col+1-utf8.RuneCountInString(src[:lead]))
	}
	// Count from the first non-space character: leading blank lines shift the lines,
	// leading spaces the columns of its first line.
	blank := strings.Count(src[:lead], "\n")
	if line == blank+1 {
		col -= utf8.RuneCountInString(src[strings.LastIndexByte(src[:lead], '\n')+1 : lead])
	}
	line -= blank
	return fmt.Sprintf("at line %d, character %d of the expression", line, col+1)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Translate turns expr-lang's own "memory budget exceeded" (a range, repeat() or loop
// result past a million items) into ErrBudget, keeping its position; other errors,
// and nil, are returned as they are.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	var fe *file.Error
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "memory budget exceeded") {
		return err
	}
	cause := fmt.Errorf("%w: builds a list or string of more than %d items (a range, repeat() or a loop's result)", ErrBudget, exprMemory)
	out := *fe
	out.Message = cause.Error()
	out.Prev = cause
	return &out
}
