package infra

import (
	"context"
	"fmt"
	"strings"

	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
)

// databaseKind manages database resources: `backend: local` (a SQLite file under the
// state directory) or `backend: d1` (Cloudflare D1, with the account of the workers-ai
// provider named by `provider:`). `migrations:` names a folder of .sql files, relative
// to the flow, applied in lexical order, once each: the database records each in its
// aiflow_migrations table within the migration's own transaction (see migrationsTable).
type databaseKind struct{}

func (databaseKind) desired(e *env, r *resource) error {
	r.backend = str(r.settings["backend"])
	if r.backend == "" {
		r.backend = "local"
	}
	if _, ok := providers.LookupDatabaseBackend(r.backend); !ok {
		return fmt.Errorf("database backend %q is not available (known: %s)", r.backend, strings.Join(providers.DatabaseBackendNames(), ", "))
	}
	r.attrs = map[string]any{"backend": r.backend}
	if p := str(r.settings["provider"]); p != "" {
		r.attrs["provider"] = p
	}
	if r.backend == "d1" && r.attrs["provider"] == nil {
		return fmt.Errorf("backend d1 needs provider: naming a workers-ai provider entry (for its account_id and api_token)")
	}
	if dir := str(r.settings["migrations"]); dir != "" {
		ms, err := readMigrations(e.fl.Spec.Dir, dir)
		if err != nil {
			return err
		}
		names := make([]any, len(ms))
		for i, m := range ms {
			names[i] = m.name
		}
		r.attrs["migrations"] = names
	}
	r.force = []string{"backend", "provider"}
	return nil
}

// databaseBackend starts a database backend (with the Cloudflare account of provider).
func (e *env) databaseBackend(backend, provider string) (providers.DatabaseBackend, error) {
	key := backend + "/" + provider
	if b, ok := e.dbs[key]; ok {
		return b, nil
	}
	info, ok := providers.LookupDatabaseBackend(backend)
	if !ok {
		return nil, fmt.Errorf("database backend %q is not available (known: %s)", backend, strings.Join(providers.DatabaseBackendNames(), ", "))
	}
	cfg := providers.DatabaseBackendConfig{StateDir: e.opts.StateDir, HTTPClient: e.opts.HTTPClient, Retry: e.opts.Retry}
	if backend != "local" {
		a, err := e.account(provider)
		if err != nil {
			return nil, err
		}
		cfg.Account = a
	}
	b, err := info.New(cfg)
	if err != nil {
		return nil, err
	}
	e.dbs[key] = b
	return b, nil
}

func (databaseKind) refresh(ctx context.Context, e *env, r *resource, st *store.ResourceState) (realState, error) {
	b, err := e.databaseBackend(r.backend, str(r.attrs["provider"]))
	if err != nil {
		return realState{}, err
	}
	spec := providers.DatabaseSpec{Name: r.name, Backend: r.backend}
	if st != nil && st.Backend == r.backend {
		spec.ID = st.ID
	}
	info, ok, err := b.Describe(ctx, spec)
	if err != nil || !ok {
		return realState{}, err
	}
	real := realState{exists: true, id: info.ID, attrs: map[string]any{}}
	if info.Tables >= 0 {
		real.info = fmt.Sprintf("%d table%s", info.Tables, plural(info.Tables))
	}
	if dir := str(r.settings["migrations"]); dir != "" {
		spec.ID = info.ID
		applied, err := e.refreshMigrations(ctx, b, spec, dir)
		if err != nil {
			return realState{}, err
		}
		real.attrs["migrations"] = applied
	}
	return real, nil
}

// refreshMigrations reads which migrations of dir the database has applied, from its
// own table (the state's records for a database that has none yet).
func (e *env) refreshMigrations(ctx context.Context, b providers.DatabaseBackend, spec providers.DatabaseSpec, dir string) ([]any, error) {
	ms, err := readMigrations(e.fl.Spec.Dir, dir)
	if err != nil {
		return nil, err
	}
	db, err := b.Open(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	applied, _, err := e.appliedMigrations(ctx, db, spec.Name)
	if err != nil {
		return nil, err
	}
	return checkMigrations(ms, applied)
}

// apply creates the database unless it exists, then runs its pending migrations.
func (databaseKind) apply(ctx context.Context, e *env, c *Change) (string, error) {
	r := c.res
	b, err := e.databaseBackend(r.backend, str(r.attrs["provider"]))
	if err != nil {
		return "", err
	}
	spec := providers.DatabaseSpec{Name: r.name, Backend: r.backend, ID: c.real.id}
	created := !c.real.exists || c.Action == ActionReplace
	if created {
		info, err := b.Create(ctx, spec)
		if err != nil {
			return "", err
		}
		spec.ID = info.ID
	}
	if dir := str(r.settings["migrations"]); dir != "" {
		if err := e.migrate(ctx, b, spec, dir, !created); err != nil {
			return spec.ID, err
		}
	}
	return spec.ID, nil
}

func (databaseKind) destroy(ctx context.Context, e *env, st store.ResourceState) error {
	provider, _ := st.Attributes["provider"].(string)
	b, err := e.databaseBackend(st.Backend, provider)
	if err != nil {
		return err
	}
	return b.Delete(ctx, providers.DatabaseSpec{Name: st.Name, Backend: st.Backend, ID: st.ID})
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
