package infra

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
)

// promptKind manages prompt resources: versioned prompts in a database resource's
// `prompts` table (name, version, system, model, params JSON, active), the pattern of a
// D1 prompt table. `database:` names the database resource and `name:` the prompt
// (default: the resource name). Apply creates the table; when the resource also gives
// content (system, model, params — settings the engine does not accept yet) and it
// differs from the active version, apply inserts a new version and makes it active.
// Without content the prompt's versions are managed in the database (e.g. seeded by a
// migration) and Check requires an active one.
type promptKind struct{}

// promptContent are the settings that make up a prompt version.
var promptContent = []string{"system", "model", "params"}

// PromptTable creates the prompts table; apply runs it on the prompt's database.
const PromptTable = `CREATE TABLE IF NOT EXISTS prompts (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  system TEXT,
  model TEXT,
  params TEXT,
  active INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (name, version)
)`

func (promptKind) desired(e *env, r *resource) error {
	db := str(r.settings["database"])
	if db == "" {
		return fmt.Errorf("set database: to a database resource, e.g. database: ${ resources.db }")
	}
	rn, ok := e.fl.Resources[db]
	if !ok || rn.Spec.Kind != "database" {
		return fmt.Errorf("database: %q is not a database resource of this flow", db)
	}
	name := str(r.settings["name"])
	if name == "" {
		name = r.name
	}
	r.backend = "table"
	r.attrs = map[string]any{"database": db, "name": name}
	for _, k := range promptContent {
		if v, ok := r.settings[k]; ok {
			r.attrs[k] = v
		}
	}
	if p, ok := r.attrs["params"]; ok && p != nil {
		if _, isMap := p.(map[string]any); !isMap {
			return fmt.Errorf("params: want an object, got %v", p)
		}
	}
	r.force = []string{"database", "name"}
	return nil
}

// openDatabase opens the database resource name of the flow, with its recorded id.
func (e *env) openDatabase(ctx context.Context, name string) (providers.Database, bool, error) {
	rn, ok := e.fl.Resources[name]
	if !ok || rn.Spec.Kind != "database" {
		return nil, false, fmt.Errorf("%q is not a database resource", name)
	}
	r, err := e.resource(rn)
	if err != nil {
		return nil, false, fmt.Errorf("database %q: %w", name, err)
	}
	b, err := e.databaseBackend(r.backend, str(r.attrs["provider"]))
	if err != nil {
		return nil, false, err
	}
	spec := providers.DatabaseSpec{Name: name, Backend: r.backend}
	st, err := e.stateOf(ctx, name)
	if err != nil {
		return nil, false, err
	}
	if st != nil && st.Backend == r.backend {
		spec.ID = st.ID
	}
	info, exists, err := b.Describe(ctx, spec)
	if err != nil || !exists {
		return nil, false, err
	}
	spec.ID = info.ID
	db, err := b.Open(ctx, spec)
	return db, err == nil, err
}

// activeVersion reads the active version of prompt name; ok is false without one.
func activeVersion(ctx context.Context, db providers.Database, name string) (Prompt, bool, error) {
	res, err := db.Query(ctx, `SELECT version, system, model, params FROM prompts WHERE name = ? AND active = 1 ORDER BY version DESC LIMIT 1`, []any{name})
	if err != nil || len(res.Rows) == 0 {
		return Prompt{}, false, err
	}
	row := res.Rows[0]
	p := Prompt{Name: name, Params: map[string]any{}}
	p.Version, _ = row[0].(int64)
	p.System, _ = row[1].(string)
	p.Model, _ = row[2].(string)
	if s, ok := row[3].(string); ok && s != "" {
		if err := json.Unmarshal([]byte(s), &p.Params); err != nil {
			return Prompt{}, false, fmt.Errorf("prompt %q version %d: params is not a JSON object: %w", name, p.Version, err)
		}
	}
	return p, true, nil
}

func hasPromptTable(ctx context.Context, db providers.Database) (bool, error) {
	res, err := db.Query(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'prompts'`, nil)
	return err == nil && len(res.Rows) > 0, err
}

func (promptKind) refresh(ctx context.Context, e *env, r *resource, _ *store.ResourceState) (realState, error) {
	db, ok, err := e.openDatabase(ctx, str(r.attrs["database"]))
	if err != nil || !ok {
		return realState{}, err
	}
	defer db.Close()
	if ok, err := hasPromptTable(ctx, db); err != nil || !ok {
		return realState{}, err
	}
	name := str(r.attrs["name"])
	real := realState{exists: true, id: str(r.attrs["database"]) + "/" + name, attrs: map[string]any{}, info: "no active version"}
	p, ok, err := activeVersion(ctx, db, name)
	if err != nil {
		return realState{}, err
	}
	if ok {
		real.info = fmt.Sprintf("version %d active", p.Version)
	}
	for _, k := range promptContent {
		if _, given := r.attrs[k]; !given {
			continue
		}
		real.attrs[k] = nil
		if ok {
			real.attrs[k] = map[string]any{"system": p.System, "model": p.Model, "params": p.Params}[k]
		}
	}
	return real, nil
}

func (promptKind) apply(ctx context.Context, e *env, c *Change) (string, error) {
	r := c.res
	dbName, name := str(r.attrs["database"]), str(r.attrs["name"])
	db, ok, err := e.openDatabase(ctx, dbName)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("database %q does not exist", dbName)
	}
	defer db.Close()
	if err := db.Exec(ctx, PromptTable); err != nil {
		return "", err
	}
	if hasContent(r) && len(c.Attributes) > 0 {
		if err := insertVersion(ctx, db, name, r.attrs); err != nil {
			return "", err
		}
	}
	return dbName + "/" + name, nil
}

func hasContent(r *resource) bool {
	for _, k := range promptContent {
		if _, ok := r.attrs[k]; ok {
			return true
		}
	}
	return false
}

// insertVersion adds the next version of prompt name and makes it the only active one.
// Deactivating the old version and inserting the new one are one script, so one
// transaction (providers.Database.Exec): a kill between them cannot leave the prompt
// without an active version. Values are SQL literals, as D1 binds no parameters to a
// script.
func insertVersion(ctx context.Context, db providers.Database, name string, attrs map[string]any) error {
	params := "{}"
	if p, ok := attrs["params"].(map[string]any); ok {
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("prompt %q: params: %w", name, err)
		}
		params = string(b)
	}
	vals := make([]string, 0, 4)
	for _, v := range []any{name, attrs["system"], attrs["model"], params} {
		lit, err := sqlLiteral(v)
		if err != nil {
			return fmt.Errorf("prompt %q: %w", name, err)
		}
		vals = append(vals, lit)
	}
	script := `UPDATE prompts SET active = 0 WHERE name = ` + vals[0] + ` AND active <> 0;
INSERT INTO prompts (name, version, system, model, params, active)
	VALUES (` + vals[0] + `, (SELECT coalesce(max(version), 0) + 1 FROM prompts WHERE name = ` + vals[0] + `), ` +
		vals[1] + `, ` + vals[2] + `, ` + vals[3] + `, 1);`
	if err := db.Exec(ctx, script); err != nil {
		return fmt.Errorf("prompt %q: adding a version: %w", name, err)
	}
	return nil
}

// sqlLiteral writes a prompt setting as an SQL literal: NULL, a number, or a string
// (hex-encoded when it holds a NUL byte, which would end the statement's text).
func sqlLiteral(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "NULL", nil
	case string:
		if strings.ContainsRune(x, 0) {
			return "CAST(X'" + hex.EncodeToString([]byte(x)) + "' AS TEXT)", nil
		}
		return sqlString(x), nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case int, int64:
		return fmt.Sprint(x), nil
	case float64:
		if !math.IsInf(x, 0) && !math.IsNaN(x) {
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
	}
	return "", fmt.Errorf("want text, a number or nothing, got %T %v", v, v)
}

func (promptKind) destroy(ctx context.Context, e *env, st store.ResourceState) error {
	dbName, _ := st.Attributes["database"].(string)
	name, _ := st.Attributes["name"].(string)
	if _, declared := e.fl.Resources[dbName]; !declared {
		return nil // the database goes too (or is no longer aiflow's to change)
	}
	db, ok, err := e.openDatabase(ctx, dbName)
	if err != nil || !ok {
		return err
	}
	defer db.Close()
	if ok, err := hasPromptTable(ctx, db); err != nil || !ok {
		return err
	}
	_, err = db.Query(ctx, `DELETE FROM prompts WHERE name = ?`, []any{name})
	return err
}
