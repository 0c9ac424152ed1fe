package wiretest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"modernc.org/sqlite"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/providers/sqlitedb"
)

// D1 limits the emulator enforces (wire doc §7).
const (
	d1MaxParams    = 100
	d1MaxStatement = 100_000 // bytes
)

// d1Statement is one {sql, params} of a query body.
type d1Statement struct {
	SQL    string `json:"sql"`
	Params []any  `json:"params"`
}

// d1Body is a query body: one statement (whose sql may hold several) or a batch.
type d1Body struct {
	SQL    *string       `json:"sql"`
	Params []any         `json:"params"`
	Batch  []d1Statement `json:"batch"`
}

// d1Result is one statement's outcome.
type d1Result struct {
	columns  []string
	rows     [][]any
	changes  int64
	lastRow  int64
	duration time.Duration
	ddl      bool
}

func (r d1Result) objects() []map[string]any {
	out := make([]map[string]any, len(r.rows))
	for i, row := range r.rows {
		m := map[string]any{}
		for j, c := range r.columns {
			m[c] = row[j]
		}
		out[i] = m
	}
	return out
}

// d1Error is a failure D1 reports with code 7500.
type d1Error struct{ msg string }

func (e *d1Error) Error() string { return e.msg }

func decodeStrict(body []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	return dec.Decode(v) == nil
}

func (cf *Cloudflare) serveD1Query(w http.ResponseWriter, c *cfCall, raw bool) {
	if !cf.d1Authorized(w, c) {
		return
	}
	d, ok := cf.d1Lookup(w, c)
	if !ok {
		return
	}
	stmts, err := d1Statements(c.body)
	if err != nil {
		cfError(w, http.StatusBadRequest, cfErr{7400, "The request is malformed: " + err.Error()})
		return
	}
	results, err := d1Run(c.r.Context(), d, stmts)
	var de *d1Error
	switch {
	case errors.As(err, &de):
		cfError(w, http.StatusBadRequest, cfErr{7500, de.msg})
		return
	case err != nil:
		cfError(w, http.StatusInternalServerError, cfErr{7500, "internal error; reference = " + newUUID()[:8]})
		return
	}
	size := d1Size(c.r.Context(), d)
	out := make([]map[string]any, len(results))
	for i, r := range results {
		out[i] = map[string]any{"success": true, "meta": r.meta(size)}
		if raw {
			out[i]["results"] = map[string]any{"columns": r.columns, "rows": r.rows}
		} else {
			out[i]["results"] = r.objects()
		}
	}
	cfOK(w, out)
}

// d1Statements parses a body into the statements to run, splitting a multi-statement sql.
func d1Statements(body []byte) ([]d1Statement, error) {
	var b d1Body
	if !decodeStrict(body, &b) {
		return nil, errors.New("expected {\"sql\", \"params\"} or {\"batch\": [...]}")
	}
	var in []d1Statement
	switch {
	case b.SQL != nil && b.Batch != nil:
		return nil, errors.New("give sql or batch, not both")
	case b.SQL != nil:
		in = []d1Statement{{SQL: *b.SQL, Params: b.Params}}
	case len(b.Batch) > 0:
		in = b.Batch
	default:
		return nil, errors.New("sql is required")
	}
	var out []d1Statement
	for _, s := range in {
		if strings.TrimSpace(s.SQL) == "" {
			return nil, errors.New("sql is required")
		}
		parts := splitSQL(s.SQL)
		if len(parts) > 1 && len(s.Params) > 0 {
			return nil, errors.New("parameters cannot be bound to several statements in one sql")
		}
		for _, p := range parts {
			out = append(out, d1Statement{SQL: p, Params: s.Params})
		}
	}
	return out, nil
}

// d1Run runs statements in one transaction on the database's only connection.
func d1Run(ctx context.Context, d *D1Database, stmts []d1Statement) ([]d1Result, error) {
	for _, s := range stmts {
		switch {
		case len(s.Params) > d1MaxParams:
			return nil, &d1Error{fmt.Sprintf("too many SQL variables (%d, at most %d): SQLITE_ERROR", len(s.Params), d1MaxParams)}
		case len(s.SQL) > d1MaxStatement:
			return nil, &d1Error{"statement too long: SQLITE_TOOBIG"}
		case isTransactionStatement(s.SQL):
			return nil, &d1Error{"To execute a transaction, please use the state.storage.transaction() or state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT statements: SQLITE_AUTH"}
		}
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	out := make([]d1Result, 0, len(stmts))
	for _, s := range stmts {
		start := time.Now()
		args, err := d1Args(s.Params)
		if err != nil {
			return nil, &d1Error{err.Error() + ": SQLITE_MISMATCH"}
		}
		res, err := sqlitedb.QueryConn(ctx, tx, s.SQL, args)
		if err != nil {
			return nil, d1SQLError(err)
		}
		r := d1Result{columns: res.Columns, rows: res.Rows, changes: res.Changes, lastRow: res.LastRowID, duration: time.Since(start), ddl: isDDL(s.SQL)}
		for _, row := range r.rows {
			for j, v := range row {
				if b, ok := v.([]byte); ok {
					row[j] = byteList(b)
				}
			}
		}
		out = append(out, r)
	}
	return out, tx.Commit()
}

// d1Args binds JSON params: numbers keep their integer or float type.
func d1Args(params []any) ([]any, error) {
	out := make([]any, len(params))
	for i, p := range params {
		switch x := p.(type) {
		case json.Number:
			if n, err := x.Int64(); err == nil {
				out[i] = n
			} else if f, err := x.Float64(); err == nil {
				out[i] = f
			}
		case map[string]any, []any:
			return nil, fmt.Errorf("parameter %d is a %s; D1 binds only scalars", i+1, map[bool]string{true: "list", false: "object"}[isList(x)])
		default:
			out[i] = x
		}
	}
	return providers.BindParams(out)
}

func isList(v any) bool { _, ok := v.([]any); return ok }

// d1SQLError is the observed "<sqlite message>: SQLITE_<CODE>" form.
func d1SQLError(err error) error {
	code := "SQLITE_ERROR"
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 19:
			code = "SQLITE_CONSTRAINT"
		case 20:
			code = "SQLITE_MISMATCH"
		case 25:
			code = "SQLITE_RANGE"
		}
	}
	return &d1Error{sqlitedb.Clean(err).Error() + ": " + code}
}

func (r d1Result) meta(size int64) map[string]any {
	ms := float64(r.duration.Microseconds()) / 1000
	read := int64(len(r.rows))
	return map[string]any{"changed_db": r.changes > 0 || r.ddl, "changes": r.changes, "duration": ms, "last_row_id": r.lastRow,
		"rows_read": read, "rows_written": r.changes, "size_after": size, "served_by_primary": true, "served_by_region": "WEUR",
		"served_by_colo": "AMS", "timings": map[string]any{"sql_duration_ms": ms}}
}

func d1Size(ctx context.Context, d *D1Database) int64 {
	var size int64
	_ = d.db.QueryRowContext(ctx, `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&size)
	return size
}

// byteList renders a BLOB as D1 does in JSON: a list of byte values.
func byteList(b []byte) []int {
	out := make([]int, len(b))
	for i, c := range b {
		out[i] = int(c)
	}
	return out
}

func firstWord(s string) string {
	f := strings.Fields(strings.ToUpper(stripComments(s)))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func isDDL(s string) bool {
	switch firstWord(s) {
	case "CREATE", "DROP", "ALTER":
		return true
	}
	return false
}

func isTransactionStatement(s string) bool {
	switch firstWord(s) {
	case "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "END":
		return true
	}
	return false
}
