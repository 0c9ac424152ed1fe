// Package exprguard holds the limits aiflow puts on expr-lang expressions before handing
// them to expr-lang, whose parser recurses once per nesting level and per unary or
// right-associative operator: a hostile expression would otherwise overflow the stack,
// which no recover() can catch.
package exprguard

import (
	"fmt"
	"unicode/utf8"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser/lexer"
)

const (
	// MaxDepth bounds how deeply (), [] and {} nest in one expression.
	MaxDepth = 64
	// MaxTokens bounds the tokens of one expression. expr-lang allows far fewer AST nodes
	// (the compilers set 500–2000), so no valid expression comes near it; it bounds the
	// parser's recursion through chains like "- - - 1" or "a ** b ** c".
	MaxTokens = 20_000
)

// CheckNesting refuses an expression whose brackets nest more than MaxDepth levels or that
// has more than MaxTokens tokens. It scans tokens without recursion; it leaves lexical
// errors to expr-lang, which reports them with a position.
func CheckNesting(src string) error {
	l := lexer.New()
	l.Reset(file.NewSource(src))
	depth, tokens := 0, 0
	for {
		t, err := l.Next()
		if err != nil || t.Kind == lexer.EOF {
			return nil
		}
		if tokens++; tokens > MaxTokens {
			return fmt.Errorf("the expression has more than %d tokens; split it into several steps or vars", MaxTokens)
		}
		if t.Kind != lexer.Bracket {
			continue
		}
		switch t.Value {
		case "(", "[", "{":
			if depth++; depth > MaxDepth {
				return fmt.Errorf("brackets nest more than %d levels (at character %d); flatten the expression", MaxDepth, t.From+1)
			}
		case ")", "]", "}":
			depth--
		}
	}
}

// maxShown bounds how much of an expression a message quotes.
const maxShown = 200

// Clip shortens an expression for a message, eliding the middle of a long one so a
// megabyte-long expression does not become a megabyte-long error.
func Clip(src string) string {
	if utf8.RuneCountInString(src) <= maxShown {
		return src
	}
	head, tail := src, src
	for i := 0; i < maxShown/2; i++ {
		_, n := utf8.DecodeRuneInString(head)
		head = head[n:]
		_, m := utf8.DecodeLastRuneInString(tail)
		tail = tail[:len(tail)-m]
	}
	return src[:len(src)-len(head)] + " … " + src[len(tail):]
}
