package spec

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Limits that keep a hostile or broken file from exhausting memory or time.
const (
	MaxFileBytes = 8 << 20 // 8 MiB
	MaxDepth     = 64      // nesting of mappings and sequences
	// MaxNodes bounds the YAML nodes of a file, aliases expanded. A plain file within
	// MaxFileBytes stays well under it unless it is mostly one-character list items.
	MaxNodes = 1_000_000
	// MaxAliasNodes bounds the nodes that alias expansion adds: a few aliases may copy a
	// block or two, an alias bomb copies copies until memory runs out.
	MaxAliasNodes = 200_000
	maxAliasDepth = 16
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseFile reads and parses a flow file that may read files in its own directory.
func ParseFile(path string) (*Flow, Diagnostics) {
	return ParseFileIn(path, nil)
}

// ParseSubFlow parses a flow file that another flow runs: the file must lie in the
// calling flow's roots, and its own reads are confined to them, so a sub-flow can
// neither be nor read a file its caller may not read.
func ParseSubFlow(path string, roots *ReadRoots) (*Flow, Diagnostics) {
	if _, err := roots.Resolve(path); err != nil {
		return nil, Diagnostics{{Severity: Error, Pos: Pos{File: path}, Summary: "cannot read flow file", Detail: unwrapPathError(err).Error()}}
	}
	return ParseFileIn(path, roots)
}

// ParseFileIn reads and parses a flow file whose reads are confined to roots; nil means
// the flow file's directory.
func ParseFileIn(path string, roots *ReadRoots) (*Flow, Diagnostics) {
	src, diags := ReadFlowFile(path)
	if diags.HasErrors() {
		return nil, diags
	}
	return ParseIn(path, src, roots)
}

// ReadFlowFile reads a flow file within MaxFileBytes without parsing it, for callers
// that key compiled flows by their content. It refuses what is not a regular file
// (a named pipe would block the read forever).
func ReadFlowFile(path string) ([]byte, Diagnostics) {
	f, st, err := openRegular(path)
	if err != nil {
		return nil, Diagnostics{{Severity: Error, Pos: Pos{File: path}, Summary: "cannot read flow file", Detail: unwrapPathError(err).Error()}}
	}
	defer f.Close()
	if st.Size() > MaxFileBytes {
		return nil, Diagnostics{tooBig(path, st.Size())}
	}
	src, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, Diagnostics{{Severity: Error, Pos: Pos{File: path}, Summary: "cannot read flow file", Detail: unwrapPathError(err).Error()}}
	}
	return src, nil
}

func tooBig(file string, n int64) Diagnostic {
	return Diagnostic{Severity: Error, Pos: Pos{File: file}, Summary: "flow file too large",
		Detail: fmt.Sprintf("it has %d bytes; the limit is %d bytes (8 MiB). Keep large data in files read with file() or a --vars-file", n, MaxFileBytes)}
}

// Parse parses src as the flow file named file. It returns every structural problem found,
// sorted by position; the Flow is nil only when the YAML itself cannot be read.
func Parse(file string, src []byte) (*Flow, Diagnostics) {
	return ParseIn(file, src, nil)
}

// ParseIn is Parse with the flow's reads confined to roots (nil: file's directory).
func ParseIn(file string, src []byte, roots *ReadRoots) (*Flow, Diagnostics) {
	if len(src) > MaxFileBytes {
		return nil, Diagnostics{tooBig(file, int64(len(src)))}
	}
	if d, ok := checkUTF8(file, src); !ok {
		return nil, Diagnostics{d}
	}
	if d, ok := checkNesting(file, src); !ok {
		return nil, Diagnostics{d}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return nil, Diagnostics{{Severity: Error, Pos: Pos{File: file, Line: 1, Col: 1}, Summary: "empty flow file", Detail: "a flow starts with \"aiflow: 1\" and has a steps: mapping"}}
		}
		return nil, Diagnostics{yamlError(file, src, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Diagnostics{{Severity: Error, Pos: Pos{File: file, Line: extra.Line, Col: extra.Column}, Summary: "more than one YAML document", Detail: "a flow file holds exactly one document; remove the \"---\" separator"}}
	}
	p := &parser{file: file}
	root := p.expand(&doc, 0, 0)
	if p.tooMuch {
		return nil, p.diags.Sort()
	}
	f := &Flow{File: file, Dir: filepath.Dir(file), Source: src, Reads: roots}
	if f.Reads == nil {
		f.Reads, _ = NewReadRoots(f.Dir) // no --allow-read dirs: cannot fail
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	f.Root = root
	f.Pos = p.pos(root)
	p.flow(f, root)
	return f, p.diags.Sort()
}

// checkUTF8 refuses a file that is not UTF-8 at the line and column (in characters) of
// its first bad byte; yaml.v3 says only "invalid leading UTF-8 octet". Files that start
// with a UTF-16 byte order mark are left to yaml.v3, which reads them.
func checkUTF8(file string, src []byte) (Diagnostic, bool) {
	if utf8.Valid(src) || bytes.HasPrefix(src, []byte{0xfe, 0xff}) || bytes.HasPrefix(src, []byte{0xff, 0xfe}) {
		return Diagnostic{}, true
	}
	line, col := 1, 1
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && size <= 1 {
			return Diagnostic{Severity: Error, Pos: Pos{File: file, Line: line, Col: col}, Summary: "invalid UTF-8",
				Detail: fmt.Sprintf("byte 0x%02x at offset %d does not belong to a UTF-8 character; flow files are UTF-8 text (re-save the file as UTF-8)", src[i], i)}, false
		}
		if r == '\n' {
			line, col = line+1, 0
		}
		col++
		i += size
	}
	return Diagnostic{}, true
}

// checkNesting refuses pathological nesting before yaml.v3 recurses into it.
func checkNesting(file string, src []byte) (Diagnostic, bool) {
	depth, line, col := 0, 1, 0
	var quote byte
	for _, c := range src {
		col++
		switch {
		case c == '\n':
			line, col = line+1, 0
			if quote == '"' || quote == '\'' {
				continue
			}
			quote = 0
		case quote == '#':
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			quote = '#'
		case c == '[' || c == '{':
			depth++
			if depth > MaxDepth {
				return Diagnostic{Severity: Error, Pos: Pos{File: file, Line: line, Col: col}, Summary: "nesting too deep",
					Detail: fmt.Sprintf("flow collections nest more than %d levels", MaxDepth)}, false
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return Diagnostic{}, true
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a yaml.v3 error into a positioned diagnostic, explaining the common
// `${ }` inside `{ }` mistake in plain words.
func yamlError(file string, src []byte, err error) Diagnostic {
	msg := err.Error()
	d := Diagnostic{Severity: Error, Pos: Pos{File: file}, Summary: "invalid YAML", Detail: strings.TrimPrefix(msg, "yaml: ")}
	m := yamlLineRE.FindStringSubmatch(msg)
	if m == nil {
		return d
	}
	var line int
	fmt.Sscan(m[1], &line)
	d.Pos.Line, d.Detail = line, m[2]
	for _, l := range []int{line, line + 1, line - 1} {
		text := sourceLine(src, l)
		if i := strings.Index(text, "${"); i >= 0 && strings.Contains(text[:i], "{") {
			d.Pos.Line, d.Pos.Col = l, i+1
			d.Summary = "expression inside a { … } flow mapping must be quoted"
			d.Detail = "YAML forbids { and } in plain scalars inside flow collections; write the value in block style (key: ${ expr } on its own line) or quote it (\"${ expr }\")"
			return d
		}
	}
	if strings.Contains(m[2], "did not find expected ',' or '}'") || strings.Contains(m[2], "did not find expected ',' or ']'") {
		// yaml.v3 names the zero-based line where the collection opens; look there first.
		for _, l := range []int{line + 1, line} {
			pl, pc, in, char, key, ok := flowProblem(src, l)
			if !ok {
				continue
			}
			d.Pos.Line, d.Pos.Col = pl, pc
			d.Path = blockPath(src, l, key)
			what, brackets, noun, closer := "{ … } flow mapping", "{ … }", "mapping", "}"
			if in == '[' {
				what, brackets, noun, closer = "[ … ] flow sequence", "[ … ]", "list", "]"
			}
			d.Summary = "unterminated or malformed " + what
			found := fmt.Sprintf("found %q where ',' or '%s' should follow the value", char, closer)
			if char == "" {
				found = fmt.Sprintf("the file ends where ',' or '%s' should follow the value", closer)
			}
			d.Detail = found + "; plain values inside " + brackets + " cannot contain ': ', ' #', '?', ',', '[', ']', '{' or '}': quote such a value, or write the " + noun + " in block style"
			return d
		}
	}
	if strings.Contains(m[2], "did not find expected ',' or '}'") {
		for l := line; l <= line+3; l++ {
			if text := sourceLine(src, l); strings.Contains(text, "{") {
				d.Pos.Line, d.Pos.Col = l, strings.Index(text, "{")+1
				d.Summary = "unterminated or malformed { … } flow mapping"
				d.Detail = "plain values inside { … } cannot contain ': ', ' #', '?', '{' or '}'; quote such a value, or write the mapping in block style"
				return d
			}
		}
	}
	if text := sourceLine(src, line); strings.Contains(text, "${") && strings.Contains(m[2], "mapping values are not allowed") {
		d.Pos.Col = strings.Index(text, "${") + 1
		d.Summary = "expression containing \": \" must be quoted"
		d.Detail = "YAML reads \": \" as a key separator; put the value in quotes ('${ a ? \"x\" : \"y\" }')"
		return d
	}
	if text := sourceLine(src, line); text != "" {
		d.Pos.Col = len(text) - len(strings.TrimLeft(text, " \t")) + 1
	}
	return d
}

func sourceLine(src []byte, line int) string {
	if line < 1 {
		return ""
	}
	lines := bytes.Split(src, []byte("\n"))
	if line > len(lines) {
		return ""
	}
	return string(lines[line-1])
}

type parser struct {
	file       string
	diags      Diagnostics
	nodes      int // nodes copied, aliases expanded
	aliasNodes int // of which copied through an alias
	tooMuch    bool
}

func (p *parser) pos(n *yaml.Node) Pos { return Pos{File: p.file, Line: n.Line, Col: n.Column} }

func (p *parser) errf(n *yaml.Node, path, format string, args ...any) {
	p.diags.Errorf(p.pos(n), path, format, args...)
}

// expand deep-copies n, resolving aliases and merge keys and checking duplicate keys,
// within the node, depth and alias budgets.
func (p *parser) expand(n *yaml.Node, depth, aliasDepth int) *yaml.Node {
	if p.tooMuch {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	p.nodes++
	if aliasDepth > 0 {
		p.aliasNodes++
	}
	switch {
	case p.aliasNodes > MaxAliasNodes:
		p.tooMuch = true
		p.errf(n, "", "aliases expand to more than %d YAML nodes", MaxAliasNodes)
		p.diags[len(p.diags)-1].Detail = "anchors and aliases multiply content (an alias bomb?); write the content out or use fewer nested aliases"
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	case p.nodes > MaxNodes:
		p.tooMuch = true
		p.errf(n, "", "too many YAML nodes (limit %d)", MaxNodes)
		p.diags[len(p.diags)-1].Detail = "keys, values and list items count one node each; keep large data in files read with file() or a --vars-file"
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	if depth > MaxDepth {
		p.tooMuch = true
		p.errf(n, "", "nesting too deep")
		p.diags[len(p.diags)-1].Detail = fmt.Sprintf("mappings and sequences nest more than %d levels", MaxDepth)
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	if n.Kind == yaml.AliasNode {
		if aliasDepth > maxAliasDepth || n.Alias == nil {
			p.tooMuch = true
			p.errf(n, "", "aliases nest more than %d levels", maxAliasDepth)
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
		}
		c := p.expand(n.Alias, depth, aliasDepth+1)
		cp := *c
		cp.Line, cp.Column = n.Line, n.Column
		return &cp
	}
	cp := *n
	cp.Anchor = ""
	cp.Content = nil
	if n.Kind == yaml.MappingNode {
		p.expandMapping(n, &cp, depth, aliasDepth)
		return &cp
	}
	for _, c := range n.Content {
		cp.Content = append(cp.Content, p.expand(c, depth+1, aliasDepth))
	}
	return &cp
}

func (p *parser) expandMapping(n, cp *yaml.Node, depth, aliasDepth int) {
	seen := map[string]*yaml.Node{}
	var merged []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" && k.Tag == "!!merge" {
			mv := p.expand(v, depth+1, aliasDepth)
			srcs := []*yaml.Node{mv}
			if mv.Kind == yaml.SequenceNode {
				srcs = mv.Content
			}
			for _, s := range srcs {
				if s.Kind == yaml.MappingNode {
					merged = append(merged, s.Content...)
				}
			}
			continue
		}
		if prev, dup := seen[k.Value]; dup && k.Kind == yaml.ScalarNode {
			p.errf(k, "", "duplicate key %q", k.Value)
			p.diags[len(p.diags)-1].Detail = fmt.Sprintf("first defined at line %d", prev.Line)
			continue
		}
		seen[k.Value] = k
		cp.Content = append(cp.Content, p.expand(k, depth+1, aliasDepth), p.expand(v, depth+1, aliasDepth))
	}
	for i := 0; i+1 < len(merged); i += 2 {
		if _, ok := seen[merged[i].Value]; !ok {
			seen[merged[i].Value] = merged[i]
			cp.Content = append(cp.Content, merged[i], merged[i+1])
		}
	}
}
