package infra

import (
	"context"
	"fmt"
	"strings"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
	"github.com/aiflow/aiflow/providers"
)

// vectorIndexKind manages vector-index resources through providers.IndexBackend.
// Dimensions, metric, backend and provider cannot change in place (Vectorize fixes them
// at creation); metadata indexes and ann are updated by reopening the index.
type vectorIndexKind struct{}

func (vectorIndexKind) desired(_ *env, r *resource) error {
	is := engine.IndexSpecFrom(r.name, r.settings)
	r.backend = is.Backend
	if info, ok := providers.LookupIndexBackend(is.Backend); ok && info.External {
		// An index managed outside aiflow (AI Search): nothing to shape, only its
		// account can change which instance this is.
		r.attrs = map[string]any{"backend": is.Backend, "external": true}
		if p := str(r.settings["provider"]); p != "" {
			r.attrs["provider"] = p
		}
		r.force = []string{"backend", "provider"}
		return nil
	}
	ann := is.ANN
	if ann == "" {
		ann = "none"
	}
	md := map[string]any{}
	for k, v := range is.MetadataIndexes {
		md[k] = v
	}
	r.attrs = map[string]any{"backend": is.Backend, "dimensions": is.Dimensions, "metric": is.Metric, "metadata_indexes": md, "ann": ann}
	if p := str(r.settings["provider"]); p != "" {
		r.attrs["provider"] = p
	}
	r.force = []string{"backend", "dimensions", "metric", "provider"}
	if is.Dimensions < 1 {
		return fmt.Errorf("dimensions must be a positive integer, got %v", r.settings["dimensions"])
	}
	return nil
}

// indexBackend starts the backend named in settings (with its provider, if any).
func (e *env) indexBackend(name string, settings map[string]any) (providers.IndexBackend, error) {
	is := engine.IndexSpecFrom(name, settings)
	info, ok := providers.LookupIndexBackend(is.Backend)
	if !ok {
		return nil, fmt.Errorf("vector-index backend %q is not available (known: %s)", is.Backend, strings.Join(providers.IndexBackendNames(), ", "))
	}
	cfg := providers.IndexBackendConfig{StateDir: e.opts.StateDir, Settings: settings, Retry: e.opts.Retry}
	if p := str(settings["provider"]); p != "" {
		prov, err := e.provider(p)
		if err != nil {
			return nil, err
		}
		cfg.Provider = prov
	}
	b, err := info.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("vector-index backend %q: %w", is.Backend, err)
	}
	return b, nil
}

func (vectorIndexKind) refresh(ctx context.Context, e *env, r *resource, _ *store.ResourceState) (realState, error) {
	b, err := e.indexBackend(r.name, r.settings)
	if err != nil {
		return realState{}, err
	}
	info, ok, err := b.Describe(ctx, engine.IndexSpecFrom(r.name, r.settings))
	if err != nil || !ok {
		return realState{}, err
	}
	if r.external() {
		return realState{exists: true, id: r.name, info: "managed outside aiflow"}, nil
	}
	md := map[string]any{}
	for k, v := range info.MetadataIndexes {
		md[k] = v
	}
	return realState{exists: true, id: indexID(r.backend, r.name), info: fmt.Sprintf("%d vectors", info.Count),
		attrs: map[string]any{"dimensions": info.Dimensions, "metric": info.Metric, "metadata_indexes": md}}, nil
}

func indexID(backend, name string) string {
	if backend == "local" {
		return "indexes/" + name
	}
	return name
}

// apply opens the index with create set: that creates a missing index and brings the
// metadata indexes and ann of an existing one up to date.
func (vectorIndexKind) apply(ctx context.Context, e *env, c *Change) (string, error) {
	r := c.res
	b, err := e.indexBackend(r.name, r.settings)
	if err != nil {
		return "", err
	}
	idx, err := b.Open(ctx, engine.IndexSpecFrom(r.name, r.settings), true)
	if err != nil {
		return "", err
	}
	if err := idx.Close(); err != nil {
		return "", err
	}
	return indexID(r.backend, r.name), nil
}

func (vectorIndexKind) destroy(ctx context.Context, e *env, st store.ResourceState) error {
	settings := map[string]any{}
	for k, v := range st.Attributes {
		settings[k] = v
	}
	settings["backend"] = st.Backend
	if d, ok := settings["dimensions"].(float64); ok {
		settings["dimensions"] = int(d)
	}
	if settings["ann"] == "none" {
		delete(settings, "ann")
	}
	b, err := e.indexBackend(st.Name, settings)
	if err != nil {
		return err
	}
	return b.Delete(ctx, engine.IndexSpecFrom(st.Name, settings))
}
