package exprguard

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
)

// TestMessage: expr-lang's "(line:col)" and snippet are dropped, also from a wrapped
// error; a long or multi-line expression says where in it the error is, counting from
// its first non-space character.
func TestMessage(t *testing.T) {
	long := " a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + p + nope() "
	for _, tc := range []struct{ src, wrap, want string }{
		{` 1 + "a" `, "", "invalid operation: + (mismatched types int and string)"},
		{` 1 + `, "ctx: ", "ctx: unexpected token EOF"},
		{long, "", "unknown name nope (at character 65 of the expression)"},
		{"\n  a +\n  nope()", "", "unknown name nope (at line 2, character 3 of the expression)"},
		{"   1 +\n  \"a\"", "", "invalid operation: + (mismatched types int and string) (at line 1, character 3 of the expression)"},
	} {
		env := map[string]any{}
		for _, n := range strings.Fields("a b c d e f g h i j k l m n o p") {
			env[n] = 1
		}
		_, err := expr.Compile(tc.src, expr.Env(env))
		if err == nil {
			t.Fatalf("%q compiled", tc.src)
		}
		if tc.wrap != "" {
			err = fmt.Errorf("%s%w", tc.wrap, err)
		}
		if got := Message(err, tc.src); got != tc.want {
			t.Errorf("%q: Message = %q, want %q (error %q)", tc.src, got, tc.want, err)
		}
	}
	if got := Message(errors.New("plain\nmore"), "x"); got != "plain" {
		t.Errorf("plain error: %q", got)
	}
}

// TestTranslate: expr-lang's memory budget error becomes ErrBudget; others pass through.
func TestTranslate(t *testing.T) {
	prog, err := expr.Compile(`len(1..n)`, expr.Env(map[string]any{"n": 0}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = expr.Run(prog, map[string]any{"n": 2_000_000})
	if err = Translate(err); !errors.Is(err, ErrBudget) || !strings.Contains(Message(err, "len(1..n)"), "too much work") {
		t.Errorf("memory budget: got %v", err)
	}
	other := errors.New("other")
	if Translate(other) != other || Translate(nil) != nil {
		t.Error("Translate changed an unrelated error")
	}
}
