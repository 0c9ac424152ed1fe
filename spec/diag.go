package spec

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in a flow file. Line and Col are 1-based; zero means unknown.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"column,omitempty"`
}

// String renders the position the way editors make clickable: file:line:col.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Before reports whether p sorts before q (by file, line, column).
func (p Pos) Before(q Pos) bool {
	if p.File != q.File {
		return p.File < q.File
	}
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Col < q.Col
}

// Severity says whether a diagnostic stops the flow (Error) or only informs (Warning).
type Severity int

// Severities, in increasing gravity.
const (
	Warning Severity = iota
	Error
)

// String returns "warning" or "error".
func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// MarshalText makes severities readable in JSON output.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Diagnostic is one problem found in a flow file. Summary is a short title, Detail full
// sentences (what is allowed, a suggestion), Path the dotted field path.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	Summary  string   `json:"summary"`
	Detail   string   `json:"detail,omitempty"`
	Pos      Pos      `json:"pos"`
	Path     string   `json:"path,omitempty"`
}

// String renders "file:line:col: path: summary (detail)".
func (d Diagnostic) String() string {
	var b strings.Builder
	if s := d.Pos.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	if d.Severity == Warning {
		b.WriteString("warning: ")
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString(": ")
		b.WriteString(d.Detail)
	}
	return b.String()
}

// Diagnostics is a list of problems collected in one pass.
type Diagnostics []Diagnostic

// Errorf appends an error diagnostic at pos for path.
func (ds *Diagnostics) Errorf(pos Pos, path, format string, args ...any) {
	*ds = append(*ds, Diagnostic{Severity: Error, Pos: pos, Path: path, Summary: fmt.Sprintf(format, args...)})
}

// Warnf appends a warning diagnostic at pos for path.
func (ds *Diagnostics) Warnf(pos Pos, path, format string, args ...any) {
	*ds = append(*ds, Diagnostic{Severity: Warning, Pos: pos, Path: path, Summary: fmt.Sprintf(format, args...)})
}

// Add appends diagnostics; it accepts Diagnostic, Diagnostics and plain errors.
func (ds *Diagnostics) Add(items ...any) {
	for _, it := range items {
		switch v := it.(type) {
		case nil:
		case Diagnostic:
			*ds = append(*ds, v)
		case Diagnostics:
			*ds = append(*ds, v...)
		case *DiagnosticsError:
			*ds = append(*ds, v.Diags...)
		case error:
			var de *DiagnosticsError
			if errors.As(v, &de) {
				*ds = append(*ds, de.Diags...)
				continue
			}
			*ds = append(*ds, Diagnostic{Severity: Error, Summary: v.Error()})
		}
	}
}

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the error diagnostics.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(Error) }

// Warnings returns only the warning diagnostics.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(Warning) }

func (ds Diagnostics) filter(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// Sort orders diagnostics by position, then path, keeping equal ones stable, and drops exact duplicates.
func (ds Diagnostics) Sort() Diagnostics {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].Pos != ds[j].Pos {
			return ds[i].Pos.Before(ds[j].Pos)
		}
		return ds[i].Path < ds[j].Path
	})
	out := ds[:0]
	for i, d := range ds {
		if i > 0 && d == ds[i-1] {
			continue
		}
		out = append(out, d)
	}
	return out
}

// Err returns nil when there are no errors, else a *DiagnosticsError holding all diagnostics.
func (ds Diagnostics) Err() error {
	if !ds.HasErrors() {
		return nil
	}
	return &DiagnosticsError{Diags: ds}
}

// DiagnosticsError carries diagnostics through error returns so callers can render them.
type DiagnosticsError struct{ Diags Diagnostics }

// Error joins every error diagnostic, one per line.
func (e *DiagnosticsError) Error() string {
	var lines []string
	for _, d := range e.Diags.Errors() {
		lines = append(lines, d.String())
	}
	return strings.Join(lines, "\n")
}
