package wiretest

import "strings"

// splitSQL splits a script into statements at semicolons outside string literals,
// quoted identifiers, comments and CREATE TRIGGER bodies (BEGIN … END). Statements that
// hold only whitespace and comments are dropped.
func splitSQL(script string) []string {
	var out []string
	start, depth := 0, 0
	var head []string // the statement's first words, to spot CREATE [TEMP] TRIGGER
	trigger := false
	for i := 0; i < len(script); i++ {
		switch c := script[i]; {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(script, i, c)
		case c == '[':
			i = skipQuoted(script, i, ']')
		case c == '-' && strings.HasPrefix(script[i:], "--"):
			i = skipLine(script, i)
		case c == '/' && strings.HasPrefix(script[i:], "/*"):
			i = skipBlock(script, i)
		case isWordStart(script, i):
			w := strings.ToUpper(word(script, i))
			if len(head) < 3 {
				head = append(head, w)
				trigger = trigger || head[0] == "CREATE" && w == "TRIGGER"
			}
			if trigger {
				depth += blockDepth(w)
			}
			i += len(w) - 1
		case c == ';' && depth <= 0:
			out = appendStatement(out, script[start:i])
			start, depth, head, trigger = i+1, 0, head[:0], false
		}
	}
	return appendStatement(out, script[start:])
}

// blockDepth is how a word of a CREATE TRIGGER statement changes BEGIN/CASE … END nesting.
func blockDepth(w string) int {
	switch w {
	case "BEGIN", "CASE":
		return 1
	case "END":
		return -1
	}
	return 0
}

func appendStatement(out []string, s string) []string {
	if strings.TrimSpace(stripComments(s)) == "" {
		return out
	}
	return append(out, strings.TrimSpace(s))
}

// stripComments removes -- and /* */ comments outside string literals.
func stripComments(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' || c == '"' || c == '`':
			j := skipQuoted(s, i, c)
			b.WriteString(s[i:min(j+1, len(s))])
			i = j
		case c == '-' && strings.HasPrefix(s[i:], "--"):
			i = skipLine(s, i)
			b.WriteByte(' ')
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			i = skipBlock(s, i)
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// skipQuoted returns the index of the closing quote (a doubled quote escapes it).
func skipQuoted(s string, i int, end byte) int {
	for j := i + 1; j < len(s); j++ {
		if s[j] == end {
			if end != ']' && j+1 < len(s) && s[j+1] == end {
				j++
				continue
			}
			return j
		}
	}
	return len(s)
}

func skipLine(s string, i int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(s)
}

func skipBlock(s string, i int) int {
	if j := strings.Index(s[i+2:], "*/"); j >= 0 {
		return i + 2 + j + 1
	}
	return len(s)
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isWordStart(s string, i int) bool {
	return isWordByte(s[i]) && (i == 0 || !isWordByte(s[i-1]))
}

func word(s string, i int) string {
	j := i
	for j < len(s) && isWordByte(s[j]) {
		j++
	}
	return s[i:j]
}
