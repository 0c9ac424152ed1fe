package infra

import (
	"context"
	"fmt"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
)

// Prompt is the active version of a stored prompt.
type Prompt struct {
	Name    string         `json:"name"`
	Version int64          `json:"version"`
	System  string         `json:"system"`
	Model   string         `json:"model"`
	Params  map[string]any `json:"params"`
}

// Map is the prompt as an expression value: {name, version, system, model, params}.
func (p Prompt) Map() map[string]any {
	return map[string]any{"name": p.Name, "version": int(p.Version), "system": p.System, "model": p.Model, "params": p.Params}
}

// OpenDatabase opens the flow's database resource name for queries (what a step's
// Env.Database would return). It must exist: `aiflow apply` creates it. The caller
// closes it.
func OpenDatabase(ctx context.Context, fl *engine.Flow, st *store.Store, opts Options, name string) (providers.Database, error) {
	e, err := newEnv(fl, st, opts)
	if err != nil {
		return nil, err
	}
	defer e.close()
	db, ok, err := e.openDatabase(ctx, name)
	if err != nil {
		return nil, e.redact(fmt.Errorf("resource %q: %w", name, err))
	}
	if !ok {
		return nil, fmt.Errorf("resource %q: the database does not exist; run aiflow apply", name)
	}
	return db, nil
}

// ActivePrompt reads the active version of the flow's prompt resource name.
func ActivePrompt(ctx context.Context, fl *engine.Flow, st *store.Store, opts Options, name string) (Prompt, error) {
	e, err := newEnv(fl, st, opts)
	if err != nil {
		return Prompt{}, err
	}
	defer e.close()
	p, err := e.activePrompt(ctx, name)
	return p, e.redact(err)
}

func (e *env) activePrompt(ctx context.Context, name string) (Prompt, error) {
	rn, ok := e.fl.Resources[name]
	if !ok || rn.Spec.Kind != "prompt" {
		return Prompt{}, fmt.Errorf("%q is not a prompt resource", name)
	}
	r, err := e.resource(rn)
	if err != nil {
		return Prompt{}, fmt.Errorf("resource %q: %w", name, err)
	}
	dbName, pname := str(r.attrs["database"]), str(r.attrs["name"])
	db, ok, err := e.openDatabase(ctx, dbName)
	if err != nil {
		return Prompt{}, fmt.Errorf("resource %q: %w", name, err)
	}
	if !ok {
		return Prompt{}, fmt.Errorf("resource %q: database %q does not exist; run aiflow apply", name, dbName)
	}
	defer db.Close()
	if ok, err := hasPromptTable(ctx, db); err != nil || !ok {
		return Prompt{}, fmt.Errorf("resource %q: database %q has no prompts table; run aiflow apply%s", name, dbName, errSuffix(err))
	}
	p, ok, err := activeVersion(ctx, db, pname)
	if err != nil {
		return Prompt{}, fmt.Errorf("resource %q: %w", name, err)
	}
	if !ok {
		return Prompt{}, fmt.Errorf("resource %q: prompt %q has no active version in database %q", name, pname, dbName)
	}
	return p, nil
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}

// Prompts reads the active version of every prompt resource of the flow, by resource
// name, as expression values (Prompt.Map). The engine can merge them into the
// `resources` scope so that `${ resources.summarise.system }` works; a prompt whose
// database is missing or that has no active version is reported as an error.
func Prompts(ctx context.Context, fl *engine.Flow, st *store.Store, opts Options) (map[string]map[string]any, error) {
	e, err := newEnv(fl, st, opts)
	if err != nil {
		return nil, err
	}
	defer e.close()
	out := map[string]map[string]any{}
	for name, rn := range fl.Resources {
		if rn.Spec.Kind != "prompt" {
			continue
		}
		p, err := e.activePrompt(ctx, name)
		if err != nil {
			return nil, e.redact(err)
		}
		out[name] = p.Map()
	}
	return out, nil
}
