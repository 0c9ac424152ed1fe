// Package query implements the "query" step kind: one SQL statement with bound
// parameters against a database resource (a local SQLite file or Cloudflare D1), for
// flows that store and read chunks, results and metadata.
//
// A query reads or changes state, so the kind is not deterministic and the engine never
// caches it unless the step sets cache: itself.
package query

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/spec"
	"github.com/aiflow/aiflow/steps"
)

func init() { steps.MustRegister(Kind) }

// Kind describes the query step to the registry.
var Kind = steps.Kind{
	Name:    "query",
	Summary: "Run one SQL statement with bound parameters against a database resource.",
	Inputs: []steps.Field{
		{Name: "database", Type: steps.Resource, Required: true, Doc: "The database resource, e.g. ${ resources.db }."},
		{Name: "sql", Type: steps.String, Required: true, Literal: true, Doc: "One SQL statement with ? or ?NNN placeholders, e.g. SELECT text FROM chunks WHERE source = ?. Written out: ${ } is refused, values go in params."},
		{Name: "params", Type: steps.List, Doc: fmt.Sprintf("Values bound to the placeholders, in order (at most %d); lists and objects bind as JSON text, booleans as 1 or 0.", providers.MaxQueryParams)},
	},
	Outputs: []steps.Field{
		{Name: "rows", Type: steps.List, Doc: "The result rows, one object per row (column → value)."},
		{Name: "columns", Type: steps.Strings, Doc: "The result's column names, in order."},
		{Name: "count", Type: steps.Int, Doc: "Number of rows returned."},
		{Name: "changes", Type: steps.Int, Doc: "Rows inserted, updated or deleted by the statement."},
	},
	Version:       "1",
	Deterministic: false,
	New:           newQuery,
}

// DatabaseEnv is the part of steps.Env a query needs: opening a database resource by
// name, once per run; the engine closes it when the run ends.
type DatabaseEnv interface {
	Database(ctx context.Context, name string) (providers.Database, error)
}

type querier struct{}

var _ steps.Step = querier{}

// newQuery checks sql: it must be written out (an expression spliced into SQL text
// could change the statement: values go in params, bound to placeholders) and must hold
// a statement.
func newQuery(s *spec.Step) (steps.Step, spec.Diagnostics) {
	var diags spec.Diagnostics
	in := s.Input("sql")
	if in == nil || in.Value == nil || in.Value.Node == nil {
		return querier{}, nil
	}
	v := in.Value
	switch {
	case spec.TemplateHasExpr(v.Scalar()):
		diags = append(diags, spec.Diagnostic{Severity: spec.Error, Pos: v.Pos, Path: v.Path, Summary: "sql cannot hold ${ } expressions",
			Detail: "a value spliced into SQL text can change the statement (SQL injection); write a ? or ?NNN placeholder " +
				"and pass the value in params:, e.g. sql: SELECT text FROM chunks WHERE source = ?  params: [${ vars.source }]"})
	case !v.HasExpr() && strings.TrimSpace(v.Scalar()) == "":
		diags = append(diags, spec.Diagnostic{Severity: spec.Error, Pos: v.Pos, Path: v.Path, Summary: "empty sql",
			Detail: "write one SQL statement, e.g. SELECT text FROM chunks WHERE source = ?"})
	}
	return querier{}, diags
}

// Run opens the database through the run's environment and runs the statement.
func (querier) Run(ctx context.Context, call *steps.Call) (steps.Result, error) {
	ref, _ := call.Inputs["database"].(steps.ResourceRef)
	if ref.Kind != "" && ref.Kind != "database" {
		return steps.Result{}, fmt.Errorf("database: %q is a %s resource, not a database", ref.Name, ref.Kind)
	}
	env, ok := call.Env.(DatabaseEnv)
	if !ok {
		return steps.Result{}, fmt.Errorf("database %q: this engine cannot open database resources (its step environment has no Database method)", ref.Name)
	}
	sql, _ := call.Inputs["sql"].(string)
	if strings.TrimSpace(sql) == "" {
		return steps.Result{}, fmt.Errorf("sql: empty statement")
	}
	params, _ := call.Inputs["params"].([]any)
	db, err := env.Database(ctx, ref.Name)
	if err != nil {
		return steps.Result{}, err
	}
	res, err := db.Query(ctx, sql, params)
	if err != nil {
		return steps.Result{}, err
	}
	return steps.Result{Output: output(res)}, nil
}

// output turns a result into flow values: int64 becomes int, a BLOB its text when it
// is UTF-8, else a list of byte values.
func output(res providers.QueryResult) map[string]any {
	rows := make([]any, 0, len(res.Rows))
	for _, r := range res.Objects() {
		for k, v := range r {
			r[k] = flowValue(v)
		}
		rows = append(rows, r)
	}
	cols := make([]any, len(res.Columns))
	for i, c := range res.Columns {
		cols[i] = c
	}
	return map[string]any{"rows": rows, "columns": cols, "count": len(rows), "changes": int(res.Changes)}
}

func flowValue(v any) any {
	switch x := v.(type) {
	case int64:
		return int(x)
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		out := make([]any, len(x))
		for i, b := range x {
			out[i] = int(b)
		}
		return out
	}
	return v
}
