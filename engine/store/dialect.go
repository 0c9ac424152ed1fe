package store

import (
	"context"
	"database/sql/driver"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/stdlib"
)

// Dialect names the database behind a Store. The query logic is written once, in
// SQLite's SQL with `?` placeholders; what differs per dialect is kept here and in
// postgres.go: placeholder rebinding (done by the Postgres driver wrapper below, so
// every statement, prepared or not, inside a transaction or not, is rebound), the
// schema (migration texts per dialect), error classification (errors.go) and how a
// run is locked (file locks for SQLite, advisory locks for Postgres).
type Dialect string

const (
	// SQLite is the default: state.db in the state directory, one machine.
	SQLite Dialect = "sqlite"
	// Postgres keeps the run records and the cache in a PostgreSQL database that
	// many machines share; blobs stay in each machine's state directory.
	Postgres Dialect = "postgres"
)

// Dialect reports which database the store uses.
func (s *Store) Dialect() Dialect { return s.dialect }

// rebound caches rebind's result per query text: each statement is rewritten once.
var rebound sync.Map // string → string

// rebind rewrites SQLite placeholders to Postgres ones: `?` becomes `$n` (n counting
// on from the highest number so far, as SQLite numbers them) and `?NNN` becomes
// `$NNN`. Quoted strings, quoted identifiers and comments are left alone.
func rebind(q string) string {
	if r, ok := rebound.Load(q); ok {
		return r.(string)
	}
	r := rebindText(q)
	rebound.Store(q, r)
	return r
}

func rebindText(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	highest := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote inside
						j += 2
						continue
					}
					break
				}
				j++
			}
			j = min(j+1, len(q))
			b.WriteString(q[i:j])
			i = j
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := highest + 1
			if j > i+1 {
				n, _ = strconv.Atoi(q[i+1 : j])
			}
			highest = max(highest, n)
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// pgConnector hands out pgx connections that rebind every query they are given.
type pgConnector struct{ driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{conn.(*stdlib.Conn)}, nil
}

// pgConn is a pgx stdlib connection whose statements are rebound. Embedding keeps the
// optional database/sql interfaces (BeginTx, Ping, ResetSession, …) it implements.
type pgConn struct{ *stdlib.Conn }

// CheckNamedValue makes a string argument fit for Postgres's TEXT, which refuses NUL
// bytes and invalid UTF-8 (SQLite stores them as given): each is replaced by U+FFFD, so
// an error body with such bytes still gets its step record written. database/sql asks
// the connection for every argument, of prepared statements too; bytes ([]byte, the
// BYTEA columns) are left alone.
func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	if s, ok := nv.Value.(string); ok && (strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s)) {
		nv.Value = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	}
	return c.Conn.CheckNamedValue(nv)
}

func (c *pgConn) Prepare(q string) (driver.Stmt, error) { return c.Conn.Prepare(rebind(q)) }

func (c *pgConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(q))
}

func (c *pgConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(q), args)
}

func (c *pgConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(q), args)
}

// noLimit is a LIMIT that leaves every row in: Postgres refuses SQLite's -1.
const noLimit = math.MaxInt64
