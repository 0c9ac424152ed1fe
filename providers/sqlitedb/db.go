package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/aiflow/aiflow/providers"
)

var _ providers.Database = (*DB)(nil)

// DB is an open local database. It is safe for concurrent use.
type DB struct {
	db   *sql.DB
	name string
}

// Query runs one statement with params bound and returns its rows and how many rows it
// changed (measured with total_changes() on the statement's own connection, so a
// SELECT reports 0 whatever ran before it). A query holding a second statement is
// refused before anything runs: the driver would run every statement of the text.
func (d *DB) Query(ctx context.Context, query string, params []any) (providers.QueryResult, error) {
	if err := providers.CheckOneStatement(query); err != nil {
		return providers.QueryResult{}, fmt.Errorf("database %q: %w", d.name, err)
	}
	args, err := providers.BindParams(params)
	if err != nil {
		return providers.QueryResult{}, fmt.Errorf("database %q: %w", d.name, err)
	}
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return providers.QueryResult{}, fmt.Errorf("database %q: %w", d.name, err)
	}
	defer conn.Close()
	res, err := QueryConn(ctx, conn, query, args)
	if err != nil {
		return providers.QueryResult{}, fmt.Errorf("database %q: %w", d.name, Clean(err))
	}
	return res, nil
}

// Exec runs a script of statements in one transaction, so a failing migration leaves
// nothing half-applied. Scripts must not open transactions themselves (D1 refuses that too).
func (d *DB) Exec(ctx context.Context, script string) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("database %q: %w", d.name, err)
	}
	if _, err := tx.ExecContext(ctx, script); err != nil {
		tx.Rollback()
		return fmt.Errorf("database %q: %w", d.name, Clean(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("database %q: %w", d.name, Clean(err))
	}
	return nil
}

// Close closes the connection pool.
func (d *DB) Close() error { return d.db.Close() }

// Querier is a connection or transaction: *sql.Conn and *sql.Tx both are.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// QueryConn runs one statement on conn (which must be a single connection, not a pool)
// and collects its result. The D1 emulator shares it.
func QueryConn(ctx context.Context, conn Querier, query string, args []any) (providers.QueryResult, error) {
	var before int64
	if err := conn.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&before); err != nil {
		return providers.QueryResult{}, err
	}
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return providers.QueryResult{}, err
	}
	res, err := collect(rows)
	if err != nil {
		return providers.QueryResult{}, err
	}
	var after int64
	if err := conn.QueryRowContext(ctx, `SELECT total_changes(), last_insert_rowid()`).Scan(&after, &res.LastRowID); err != nil {
		return providers.QueryResult{}, err
	}
	res.Changes = after - before
	if res.Changes == 0 {
		res.LastRowID = 0
	}
	return res, nil
}

func collect(rows *sql.Rows) (providers.QueryResult, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return providers.QueryResult{}, err
	}
	res := providers.QueryResult{Columns: cols, Rows: [][]any{}}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return providers.QueryResult{}, err
		}
		for i, v := range vals {
			vals[i] = value(v)
		}
		res.Rows = append(res.Rows, vals)
	}
	return res, rows.Err()
}

// value maps what the driver returns onto the QueryResult value types.
func value(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case time.Time: // columns declared DATE/DATETIME/TIMESTAMP
		return x.Format(time.RFC3339Nano)
	}
	return v
}

// Clean turns a driver error into SQLite's own message: "no such table: x" rather than
// "SQL logic error: no such table: x (1)".
func Clean(err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, " ("); i > 0 && strings.HasSuffix(msg, ")") {
		msg = msg[:i]
	}
	for _, p := range []string{"SQL logic error: ", "constraint failed: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	if msg == err.Error() {
		return err
	}
	return &sqlError{msg: msg, err: err}
}

type sqlError struct {
	msg string
	err error
}

func (e *sqlError) Error() string { return e.msg }
func (e *sqlError) Unwrap() error { return e.err }
