package store

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	// ErrNotFound is wrapped by lookups of a run, step, resource or other
	// record that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists is wrapped when creating a record whose key is taken.
	ErrExists = errors.New("already exists")
	// ErrConflict is wrapped when a write contradicts what is stored, such as
	// recording a migration again with a different checksum.
	ErrConflict = errors.New("conflicts with recorded state")
	// ErrInvalid is wrapped when a record is rejected before it is written:
	// an empty key, an unknown status, a value that cannot be encoded.
	ErrInvalid = errors.New("invalid record")
)

// sqliteCode returns the extended SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// pgCode returns the SQLSTATE of a Postgres error, or "".
func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func isUniqueViolation(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || pgCode(err) == "23505"
}

func isForeignKeyViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY || pgCode(err) == "23503"
}
