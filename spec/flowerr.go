package spec

import "strings"

// yaml.v3 reports "did not find expected ',' or '}'" (or ']') at the line where the
// enclosing flow collection starts, counted from zero, and drops the column of the token
// it choked on. The error is usually further right, often on the next line: in
// `c: { type: string, default: why? not }` it is the '?', which ends a plain value inside
// { … }. flowProblem re-reads the collection with the same tokenising rules and returns the
// position of the first token where a ',' or closing bracket was expected.

// flowScan walks one flow collection of src from a '{' or '['.
type flowScan struct {
	src  []byte
	i    int
	line int // 1-based line of src[i]
	col  int // 1-based column (in characters) of src[i]
	// bad is set at the first unexpected token: where it is and which collection
	// (a '{' or '[') expected a ',' or its closing bracket there.
	bad              bool
	badLine, badCol  int
	badIn            byte
	badChar          string
	lastKey, badPath string
}

// flowProblem scans the first flow collection that opens on line (1-based) of src and
// reports where it breaks, which bracket it is and the key (within the collection) whose
// value came last. ok is false when the line holds no flow collection whose scan finds a
// problem.
func flowProblem(src []byte, line int) (l, c int, in byte, char, key string, ok bool) {
	start, end := lineBounds(src, line)
	if start < 0 {
		return 0, 0, 0, "", "", false
	}
	col := 1
	var quote byte
	for i := start; i < end; i++ {
		ch := src[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '#' && (i == start || src[i-1] == ' ' || src[i-1] == '\t'):
			return 0, 0, 0, "", "", false
		case ch == '"' || ch == '\'':
			if i == start || strings.ContainsRune(" \t:-,[{", rune(src[i-1])) {
				quote = ch
			}
		case ch == '{' || ch == '[':
			if i > start && !strings.ContainsRune(" \t:-,[{", rune(src[i-1])) {
				break // inside a plain block value such as a{b}
			}
			s := &flowScan{src: src, i: i, line: line, col: col}
			s.collection()
			if s.bad {
				return s.badLine, s.badCol, s.badIn, s.badChar, s.badPath, true
			}
		}
		if ch&0xC0 != 0x80 {
			col++
		}
	}
	return 0, 0, 0, "", "", false
}

// lineBounds returns the byte range of a 1-based line, or -1 when there is no such line.
func lineBounds(src []byte, line int) (int, int) {
	if line < 1 {
		return -1, -1
	}
	start := 0
	for l := 1; l < line; l++ {
		j := strings.IndexByte(string(src[start:]), '\n')
		if j < 0 {
			return -1, -1
		}
		start += j + 1
	}
	end := start
	for end < len(src) && src[end] != '\n' {
		end++
	}
	return start, end
}

func (s *flowScan) eof() bool { return s.i >= len(s.src) }

func (s *flowScan) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

func (s *flowScan) at(off int) byte {
	if s.i+off >= len(s.src) {
		return 0
	}
	return s.src[s.i+off]
}

// next consumes one byte, keeping line and column (columns count characters).
func (s *flowScan) next() {
	c := s.src[s.i]
	s.i++
	switch {
	case c == '\n':
		s.line, s.col = s.line+1, 1
	case c&0xC0 != 0x80:
		s.col++
	}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0 }

func isFlowIndicator(c byte) bool {
	return c == ',' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}'
}

// space skips blanks, line breaks and comments.
func (s *flowScan) space() {
	for !s.eof() {
		c := s.peek()
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			s.next()
		case c == '#':
			for !s.eof() && s.peek() != '\n' {
				s.next()
			}
		default:
			return
		}
	}
}

func (s *flowScan) fail(in byte) {
	if s.bad {
		return
	}
	s.bad, s.badLine, s.badCol, s.badIn, s.badPath = true, s.line, s.col, in, s.lastKey
	if !s.eof() {
		r := []rune(string(s.src[s.i:min(s.i+4, len(s.src))]))
		s.badChar = string(r[0])
	}
}

// collection scans a '{ … }' or '[ … ]' starting at its bracket.
func (s *flowScan) collection() {
	open := s.peek()
	closer := byte('}')
	if open == '[' {
		closer = ']'
	}
	s.next()
	for first := true; !s.bad; first = false {
		s.space()
		if s.eof() {
			return // unterminated: yaml.v3 says so itself
		}
		if s.peek() == closer {
			s.next()
			return
		}
		if !first {
			if s.peek() != ',' {
				s.fail(open)
				return
			}
			s.next()
			s.space()
			if s.peek() == closer {
				s.next()
				return
			}
		}
		s.entry(open)
	}
}

// entry scans one `key: value`, `? key: value`, `key` or (in a sequence) `value`.
func (s *flowScan) entry(in byte) {
	if s.peek() == '?' {
		s.next()
		s.space()
	}
	if s.peek() != ':' {
		start := s.i
		s.node(in)
		if in == '{' {
			s.lastKey = strings.TrimSpace(string(s.src[start:s.i]))
		}
		s.space()
	}
	if s.bad || s.peek() != ':' {
		return
	}
	s.next()
	s.space()
	if c := s.peek(); c == ',' || c == '}' || c == ']' {
		return
	}
	s.node(in)
}

// node scans one value: a nested collection, a quoted or plain scalar, an alias, with
// any anchor or tag before it.
func (s *flowScan) node(in byte) {
	for c := s.peek(); c == '&' || c == '!'; c = s.peek() {
		for !s.eof() && !isBlank(s.peek()) && !isFlowIndicator(s.peek()) {
			s.next()
		}
		s.space()
	}
	switch c := s.peek(); {
	case c == '{' || c == '[':
		s.collection()
	case c == '"':
		s.next()
		for !s.eof() && s.peek() != '"' {
			if s.peek() == '\\' {
				s.next()
				if s.eof() {
					return
				}
			}
			s.next()
		}
		if !s.eof() {
			s.next()
		}
	case c == '\'':
		s.next()
		for !s.eof() {
			if s.peek() == '\'' {
				s.next()
				if s.peek() != '\'' {
					return
				}
			}
			s.next()
		}
	case c == '*':
		for !s.eof() && !isBlank(s.peek()) && !isFlowIndicator(s.peek()) {
			s.next()
		}
	case c == ',' || c == '}' || c == ']' || c == ':' || c == 0:
		// an empty node
	default:
		s.plain()
	}
}

// plain scans a plain scalar by yaml.v3's rules inside a flow collection: it ends at
// ": ", any of ,?[]{}, or " #", and continues over blanks and line breaks when more
// plain text follows.
func (s *flowScan) plain() {
	for !s.eof() {
		for !s.eof() && !isBlank(s.peek()) {
			c := s.peek()
			if (c == ':' && isBlank(s.at(1))) || isFlowIndicator(c) {
				return
			}
			s.next()
		}
		// blanks: continue only if plain text follows
		j := s.i
		for j < len(s.src) && (s.src[j] == ' ' || s.src[j] == '\t' || s.src[j] == '\r' || s.src[j] == '\n') {
			j++
		}
		if j >= len(s.src) {
			return
		}
		c := s.src[j]
		next := byte(0)
		if j+1 < len(s.src) {
			next = s.src[j+1]
		}
		if c == '#' || isFlowIndicator(c) || (c == ':' && isBlank(next)) {
			return
		}
		for s.i < j {
			s.next()
		}
	}
}

// blockPath is the dotted path of the block keys that lead to line (1-based), found by
// indentation, followed by key when it is not empty: "vars.c.default".
func blockPath(src []byte, line int, key string) string {
	var rev []string
	if key != "" {
		rev = append(rev, strings.Trim(key, `"'`))
	}
	indent := -1
	for l := line; l >= 1; l-- {
		text := sourceLine(src, l)
		trimmed := strings.TrimLeft(text, " ")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		in := len(text) - len(trimmed)
		if indent >= 0 && in >= indent {
			continue
		}
		indent = in
		trimmed = strings.TrimLeft(strings.TrimPrefix(trimmed, "- "), " ")
		if k, _, found := strings.Cut(trimmed, ":"); found && identRE.MatchString(strings.Trim(k, `"'`)) {
			rev = append(rev, strings.Trim(k, `"'`))
		}
		if in == 0 {
			break
		}
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return strings.Join(rev, ".")
}
