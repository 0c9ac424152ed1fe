package d1

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/cloudflare/cloudflare-go/v6"
	cfd1 "github.com/cloudflare/cloudflare-go/v6/d1"

	"github.com/aiflow/aiflow/providers"
)

var _ providers.Database = (*Database)(nil)

// Database is one D1 database, queried through /raw so columns keep their order.
type Database struct {
	b    *Backend
	id   string
	name string
}

// Query runs one statement. Integral JSON numbers come back as int64, others as float64.
// A sql holding a second statement is refused before the request: D1 would run them all.
func (d *Database) Query(ctx context.Context, sql string, params []any) (providers.QueryResult, error) {
	if err := providers.CheckOneStatement(sql); err != nil {
		return providers.QueryResult{}, fmt.Errorf("D1 database %q: %w", d.name, err)
	}
	args, err := bindParams(params)
	if err != nil {
		return providers.QueryResult{}, fmt.Errorf("D1 database %q: %w", d.name, err)
	}
	body := cfd1.DatabaseRawParamsBody{Sql: cloudflare.F(sql)}
	if len(args) > 0 {
		body.Params = cloudflare.F[any](args)
	}
	page, err := d.b.svc.Raw(ctx, d.id, cfd1.DatabaseRawParams{AccountID: cloudflare.F(d.b.account), Body: body})
	if err != nil {
		return providers.QueryResult{}, fmt.Errorf("D1 database %q: %w", d.name, cause(err))
	}
	if len(page.Result) == 0 {
		return providers.QueryResult{}, fmt.Errorf("D1 database %q: the answer has no statement result", d.name)
	}
	r := page.Result[len(page.Result)-1]
	res := providers.QueryResult{Columns: r.Results.Columns, Rows: make([][]any, len(r.Results.Rows)),
		Changes: int64(r.Meta.Changes), LastRowID: int64(r.Meta.LastRowID)}
	if res.Columns == nil {
		res.Columns = []string{}
	}
	for i, row := range r.Results.Rows {
		res.Rows[i] = make([]any, len(row))
		for j, v := range row {
			res.Rows[i][j] = value(v)
		}
	}
	return res, nil
}

// Exec sends the script as one sql: D1 runs its statements server-side, in order, in
// one transaction (D1 wraps each query, or batch, in a transaction of its own and
// refuses BEGIN; wrangler's `d1 migrations apply` relies on this to record a migration
// in d1_migrations with the same request).
func (d *Database) Exec(ctx context.Context, script string) error {
	body := cfd1.DatabaseQueryParamsBody{Sql: cloudflare.F(script)}
	if _, err := d.b.svc.Query(ctx, d.id, cfd1.DatabaseQueryParams{AccountID: cloudflare.F(d.b.account), Body: body}); err != nil {
		return fmt.Errorf("D1 database %q: %w", d.name, cause(err))
	}
	return nil
}

// Close does nothing: D1 needs no connection.
func (d *Database) Close() error { return nil }

// bindParams checks params as the local backend does and writes each as the string the
// D1 REST API takes: Cloudflare's OpenAPI (cloudflare/api-schemas, components.schemas
// "d1_params") and the SDK generated from it (cloudflare-go d1.DatabaseRawParamsBody
// D1SingleQuery.Params []string) type params as an array of strings. SQLite's column
// affinity turns "42" back into a number where a column is numeric; a bare `SELECT ?`
// gives the text. NULL, BLOBs and non-finite floats have no such string form.
func bindParams(params []any) ([]string, error) {
	args, err := providers.BindParams(params)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(args))
	for i, a := range args {
		switch x := a.(type) {
		case string:
			out[i] = x
		case int64:
			out[i] = strconv.FormatInt(x, 10)
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("parameter %d: D1's REST API takes parameters as strings and SQLite has no literal for %v", i+1, x)
			}
			out[i] = strconv.FormatFloat(x, 'g', -1, 64)
		case []byte:
			return nil, fmt.Errorf("parameter %d: D1's REST API cannot bind BLOBs", i+1)
		case nil:
			return nil, fmt.Errorf("parameter %d: D1's REST API takes parameters as strings, so it cannot bind NULL; write NULL in the SQL instead", i+1)
		default:
			return nil, fmt.Errorf("parameter %d: cannot bind a %T", i+1, a)
		}
	}
	return out, nil
}

// value maps decoded JSON onto QueryResult values.
func value(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	case []any: // a BLOB
		b := make([]byte, len(x))
		for i, e := range x {
			f, _ := e.(float64)
			b[i] = byte(f)
		}
		return b
	}
	return v
}
