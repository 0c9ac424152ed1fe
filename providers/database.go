package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
)

// MaxQueryParams is the most bound parameters one statement may take: D1's limit, which
// the local backend enforces too so that a flow behaves the same on both.
const MaxQueryParams = 100

// Database is an open `database` resource: a local SQLite file or a Cloudflare D1
// database. Implementations are safe for concurrent use.
type Database interface {
	// Query runs one SQL statement with params bound to its `?` / `?NNN` placeholders
	// and returns its rows (none for statements that return none).
	Query(ctx context.Context, sql string, params []any) (QueryResult, error)
	// Exec runs a script of `;`-separated statements without parameters (migrations) in
	// one transaction: all of it takes effect or none. Apply relies on it to insert a
	// migration's record with the migration itself.
	Exec(ctx context.Context, script string) error
	// Close releases the connection; the database itself stays.
	Close() error
}

// QueryResult is what one statement returned. Values are nil, int64, float64, string or
// []byte (BLOBs; D1 returns them as lists of byte values).
type QueryResult struct {
	Columns []string
	Rows    [][]any
	// Changes is how many rows the statement inserted, updated or deleted.
	Changes int64
	// LastRowID is the rowid of the last inserted row.
	LastRowID int64
}

// Objects returns the rows as column → value maps; a later column wins over an earlier
// one with the same name, as in D1's object results.
func (r QueryResult) Objects() []map[string]any {
	out := make([]map[string]any, len(r.Rows))
	for i, row := range r.Rows {
		m := make(map[string]any, len(r.Columns))
		for j, c := range r.Columns {
			if j < len(row) {
				m[c] = row[j]
			}
		}
		out[i] = m
	}
	return out
}

// DatabaseSpec is a `resources.<name>` entry of kind database, resolved.
type DatabaseSpec struct {
	Name    string // the resource's name; also the D1 database name
	Backend string // "local" or "d1"
	// ID is the backend's identifier recorded in state (the D1 uuid), "" when unknown.
	ID string
}

// DatabaseInfo is a database's real state.
type DatabaseInfo struct {
	ID     string // the backend's identifier (D1 uuid, or the file path for local)
	Name   string
	Tables int   // user tables, when the backend reports them (-1 when it does not)
	Size   int64 // bytes
}

// DatabaseBackend creates, describes, opens and deletes databases of one backend.
type DatabaseBackend interface {
	// Create makes the database and returns its real state.
	Create(ctx context.Context, spec DatabaseSpec) (DatabaseInfo, error)
	// Describe returns the real state, or ok=false when the database does not exist.
	Describe(ctx context.Context, spec DatabaseSpec) (info DatabaseInfo, ok bool, err error)
	// Open opens an existing database.
	Open(ctx context.Context, spec DatabaseSpec) (Database, error)
	// Delete removes the database and its data; deleting a missing one succeeds.
	Delete(ctx context.Context, spec DatabaseSpec) error
}

// CloudflareAccount is the account a Cloudflare-backed resource (D1, AI Gateway) lives
// in, taken from the workers-ai provider entry its `provider:` setting names.
type CloudflareAccount struct {
	ID      string
	Token   string // secret: never in errors or logs
	BaseURL string // API base, ".../client/v4"; "" means Cloudflare's
}

// DatabaseBackendConfig is what a database backend needs to start.
type DatabaseBackendConfig struct {
	StateDir   string             // the flow's .aiflow directory
	Account    *CloudflareAccount // for d1; nil for local
	HTTPClient *http.Client       // replaces the default transport (tests point it at emulators)
	Retry      RetryPolicy
}

// DatabaseBackendInfo registers a database backend.
type DatabaseBackendInfo struct {
	Name string
	New  func(DatabaseBackendConfig) (DatabaseBackend, error)
}

var (
	dbBackendsMu sync.RWMutex
	dbBackends   = map[string]DatabaseBackendInfo{}
)

// MustRegisterDatabaseBackend registers a backend at init; it panics on duplicates.
func MustRegisterDatabaseBackend(info DatabaseBackendInfo) {
	dbBackendsMu.Lock()
	defer dbBackendsMu.Unlock()
	if _, dup := dbBackends[info.Name]; dup || info.Name == "" || info.New == nil {
		panic(fmt.Sprintf("database backend %q: bad or duplicate registration", info.Name))
	}
	dbBackends[info.Name] = info
}

// LookupDatabaseBackend returns a registered database backend.
func LookupDatabaseBackend(name string) (DatabaseBackendInfo, bool) {
	dbBackendsMu.RLock()
	defer dbBackendsMu.RUnlock()
	b, ok := dbBackends[name]
	return b, ok
}

// DatabaseBackendNames lists registered database backends, sorted.
func DatabaseBackendNames() []string {
	dbBackendsMu.RLock()
	defer dbBackendsMu.RUnlock()
	names := make([]string, 0, len(dbBackends))
	for n := range dbBackends {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// BindParams checks and converts statement parameters: at most MaxQueryParams;
// nil, booleans (as 0/1), numbers, strings and bytes bind as themselves; lists and objects
// bind as their JSON text.
func BindParams(params []any) ([]any, error) {
	if len(params) > MaxQueryParams {
		return nil, fmt.Errorf("%d bound parameters; at most %d are allowed per statement", len(params), MaxQueryParams)
	}
	out := make([]any, len(params))
	for i, p := range params {
		switch x := p.(type) {
		case nil, string, []byte, int64, float64:
			out[i] = x
		case bool:
			if x {
				out[i] = int64(1)
			} else {
				out[i] = int64(0)
			}
		case int:
			out[i] = int64(x)
		case int32:
			out[i] = int64(x)
		case float32:
			out[i] = float64(x)
		case map[string]any, []any:
			b, err := json.Marshal(x)
			if err != nil {
				return nil, fmt.Errorf("parameter %d: %w", i+1, err)
			}
			out[i] = string(b)
		default:
			return nil, fmt.Errorf("parameter %d: cannot bind a %T", i+1, p)
		}
	}
	return out, nil
}
