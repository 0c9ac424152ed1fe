package providers

import (
	"fmt"
	"strings"
)

// CheckOneStatement returns an error when sql holds more than one SQL statement, so that
// Database.Query runs exactly the statement the flow wrote and nothing a value smuggled
// in after a semicolon. SQLite (and D1, which is SQLite) ends a statement only at a `;`
// token, so the check is lexical and errs on the side of refusing: it follows SQLite's
// rules for '…' strings, "…", `…` and […] identifiers, -- and /* */ comments, and after
// the first `;` outside them accepts only whitespace, comments and further `;`. That also
// refuses CREATE TRIGGER, whose body holds semicolons: triggers belong in migrations.
func CheckOneStatement(sql string) error {
	if i := strings.IndexByte(sql, 0); i >= 0 {
		line, col := lineCol(sql, i)
		return fmt.Errorf("sql holds a NUL byte at line %d, column %d", line, col)
	}
	ended := false // a top-level ';' has been seen
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			continue
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			i = skipLineComment(sql, i)
			continue
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			i = skipBlockComment(sql, i)
			continue
		case c == ';':
			ended = true
			continue
		}
		if ended {
			line, col := lineCol(sql, i)
			return fmt.Errorf("more than one SQL statement (another starts at line %d, column %d); "+
				"a query runs exactly one: bind values with ? placeholders and params, and put schema changes in a migration", line, col)
		}
		switch c {
		case '\'', '"', '`':
			i = skipQuotedSQL(sql, i, c)
		case '[':
			i = skipQuotedSQL(sql, i, ']')
		}
	}
	return nil
}

// skipQuotedSQL returns the index of the quote that closes the one at i, or len(s) when it
// is unclosed; a doubled quote inside is an escaped one ([…] has no escape).
func skipQuotedSQL(s string, i int, end byte) int {
	for j := i + 1; j < len(s); j++ {
		if s[j] != end {
			continue
		}
		if end != ']' && j+1 < len(s) && s[j+1] == end {
			j++
			continue
		}
		return j
	}
	return len(s)
}

// skipLineComment returns the index of the newline ending the -- comment at i.
func skipLineComment(s string, i int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(s)
}

// skipBlockComment returns the index of the '/' closing the /* comment at i; an unclosed
// one runs to the end, as in SQLite.
func skipBlockComment(s string, i int) int {
	if j := strings.Index(s[i+2:], "*/"); j >= 0 {
		return i + 2 + j + 1
	}
	return len(s)
}

// lineCol is the 1-based line and column (in bytes) of offset i of s.
func lineCol(s string, i int) (int, int) {
	line := 1 + strings.Count(s[:i], "\n")
	return line, i - strings.LastIndexByte(s[:i], '\n')
}
