// Package dataset runs a flow once per row of a dataset (JSONL, CSV, or a glob of files)
// and writes one result per row, in input order, to a JSONL results file. Rows stream
// through a bounded window, so memory stays flat however many rows there are, and a
// killed run resumes from the results already written.
package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// maxLine bounds one JSONL line or CSV record, so a file without newlines cannot take
// unbounded memory.
const maxLine = 16 << 20

// Row is one row of a dataset.
type Row struct {
	N    int            // 1-based position in the input
	Line int            // line where the row starts (JSONL, CSV); 0 for a file of a glob
	Data map[string]any // the row's columns; nil when Err is set
	Err  error          // a malformed row: it becomes a failed result, the others run
}

// Source yields a dataset's rows in order.
type Source interface {
	// Next returns the next row, or false at the end (or on a read error, see Err).
	Next() (Row, bool)
	// Columns lists the columns rows have: a CSV header, the keys of the first valid
	// JSONL row, or path, name and text for files.
	Columns() []string
	// Total is the number of rows (for a JSONL or CSV file, its non-blank lines less the
	// header: an estimate when quoted CSV fields span lines).
	Total() int
	// Err is the read error that ended the rows early, if any.
	Err() error
	Close() error
}

// Open opens a dataset: a .jsonl (or .ndjson) or .csv file, or a glob of files (one row per
// file). A path with glob characters is always a glob.
func Open(path string) (Source, error) {
	if strings.ContainsAny(path, "*?[") {
		return openGlob(path)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson", ".json":
		return openJSONL(path)
	case ".csv":
		return openCSV(path)
	}
	return nil, fmt.Errorf("--inputs %s: unknown dataset format (want .jsonl, .csv, or a glob such as docs/*.md)", path)
}

// countLines counts the non-blank lines of a file in one streaming pass.
func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, blank := 0, true
	buf := make([]byte, 64<<10)
	for {
		k, err := f.Read(buf)
		for _, c := range buf[:k] {
			switch c {
			case '\n':
				if !blank {
					n++
				}
				blank = true
			case ' ', '\t', '\r':
			default:
				blank = false
			}
		}
		if err == io.EOF {
			if !blank {
				n++
			}
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

type jsonlSource struct {
	path    string
	f       *os.File
	sc      *bufio.Scanner
	line, n int
	total   int
	cols    []string
	pending []Row
	err     error
}

func openJSONL(path string) (*jsonlSource, error) {
	total, err := countLines(path)
	if err != nil {
		return nil, fmt.Errorf("--inputs: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--inputs: %w", err)
	}
	s := &jsonlSource{path: path, f: f, sc: bufio.NewScanner(f), total: total}
	s.sc.Buffer(make([]byte, 64<<10), maxLine)
	// Columns come from the first row that parses; it is kept for Next.
	var skipped []Row
	for {
		r, ok := s.read()
		if !ok {
			break
		}
		if r.Err != nil {
			skipped = append(skipped, r)
			if len(skipped) > 100 {
				break
			}
			continue
		}
		s.cols = sortedKeys(r.Data)
		skipped = append(skipped, r)
		break
	}
	s.pending = skipped
	return s, nil
}

func (s *jsonlSource) read() (Row, bool) {
	for s.sc.Scan() {
		s.line++
		b := bytes.TrimSpace(s.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		s.n++
		r := Row{N: s.n, Line: s.line}
		var v any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		err := d.Decode(&v)
		if err == nil && d.More() {
			err = errors.New("more than one JSON value on the line")
		}
		obj, isObj := v.(map[string]any)
		switch {
		case err != nil:
			r.Err = fmt.Errorf("%s:%d: malformed JSON: %v", s.path, s.line, err)
		case !isObj:
			r.Err = fmt.Errorf("%s:%d: a row must be a JSON object, got %s", s.path, s.line, jsonKind(v))
		default:
			r.Data = plainJSON(obj).(map[string]any)
		}
		return r, true
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line %d is longer than %d MiB", s.line+1, maxLine>>20)
		}
		s.err = fmt.Errorf("reading %s: %w", s.path, err)
	}
	return Row{}, false
}

func (s *jsonlSource) Next() (Row, bool) {
	if len(s.pending) > 0 {
		r := s.pending[0]
		s.pending = s.pending[1:]
		return r, true
	}
	return s.read()
}

func (s *jsonlSource) Columns() []string { return s.cols }
func (s *jsonlSource) Total() int        { return s.total }
func (s *jsonlSource) Err() error        { return s.err }
func (s *jsonlSource) Close() error      { return s.f.Close() }

// plainJSON turns json.Numbers into int64 when whole and float64 otherwise, as vars expect.
func plainJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i, e := range x {
			x[i] = plainJSON(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = plainJSON(e)
		}
	}
	return v
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type csvSource struct {
	path  string
	f     *os.File
	r     *csv.Reader
	cols  []string
	n     int
	total int
	err   error
}

func openCSV(path string) (*csvSource, error) {
	total, err := countLines(path)
	if err != nil {
		return nil, fmt.Errorf("--inputs: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--inputs: %w", err)
	}
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = -1 // checked per row, so a short row is one failed row
	header, err := r.Read()
	if err != nil {
		f.Close()
		if err == io.EOF {
			return nil, fmt.Errorf("--inputs %s: empty CSV file (want a header line of column names)", path)
		}
		return nil, fmt.Errorf("--inputs %s: reading the header: %w", path, err)
	}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if h == "" || seen[h] {
			f.Close()
			return nil, fmt.Errorf("--inputs %s:1: column %d: empty or repeated name %q in the header", path, i+1, h)
		}
		seen[h] = true
		header[i] = h
	}
	return &csvSource{path: path, f: f, r: r, cols: header, total: max(total-1, 0)}, nil
}

func (s *csvSource) Next() (Row, bool) {
	rec, err := s.r.Read()
	if err == io.EOF {
		return Row{}, false
	}
	s.n++
	line, _ := s.r.FieldPos(0)
	r := Row{N: s.n, Line: line}
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe):
		r.Line = pe.StartLine
		r.Err = fmt.Errorf("%s:%d:%d: malformed CSV: %v", s.path, pe.StartLine, pe.Column, pe.Err)
	case err != nil:
		s.err = fmt.Errorf("reading %s: %w", s.path, err)
		return Row{}, false
	case len(rec) != len(s.cols):
		r.Err = fmt.Errorf("%s:%d: %d fields, want %d (%s)", s.path, line, len(rec), len(s.cols), strings.Join(s.cols, ", "))
	default:
		r.Data = make(map[string]any, len(rec))
		for i, c := range s.cols {
			r.Data[c] = rec[i]
		}
	}
	return r, true
}

func (s *csvSource) Columns() []string { return s.cols }
func (s *csvSource) Total() int        { return s.total }
func (s *csvSource) Err() error        { return s.err }
func (s *csvSource) Close() error      { return s.f.Close() }

// globSource yields one row per file: {path, name, text}.
type globSource struct {
	files []string
	n     int
}

// maxFile bounds the text one file row carries.
const maxFile = 64 << 20

func openGlob(pattern string) (*globSource, error) {
	files, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("--inputs %s: %w", pattern, err)
	}
	var regular []string
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
			regular = append(regular, f)
		}
	}
	if len(regular) == 0 {
		return nil, fmt.Errorf("--inputs %s: no file matches", pattern)
	}
	sort.Strings(regular)
	return &globSource{files: regular}, nil
}

func (s *globSource) Next() (Row, bool) {
	if s.n >= len(s.files) {
		return Row{}, false
	}
	path := s.files[s.n]
	s.n++
	r := Row{N: s.n}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		r.Err = err
	case fi.Size() > maxFile:
		r.Err = fmt.Errorf("%s: %d bytes, more than the %d MiB a file row may hold", path, fi.Size(), maxFile>>20)
	default:
		b, err := os.ReadFile(path)
		if err != nil {
			r.Err = err
			break
		}
		r.Data = map[string]any{"path": path, "name": filepath.Base(path), "text": string(b)}
	}
	return r, true
}

func (s *globSource) Columns() []string { return []string{"name", "path", "text"} }
func (s *globSource) Total() int        { return len(s.files) }
func (s *globSource) Err() error        { return nil }
func (s *globSource) Close() error      { return nil }
