package infra

import (
	"context"
	"fmt"

	"github.com/aiflow/aiflow/engine"
	"github.com/aiflow/aiflow/engine/store"
)

// resource is one declared resource, evaluated.
type resource struct {
	name, kind, backend string
	settings            map[string]any
	// attrs are the desired attributes, JSON-normalised; they are what gets recorded.
	attrs map[string]any
	// force names the attributes whose change the backend cannot make in place.
	force []string
	k     kindImpl
}

// external reports whether the resource is managed outside aiflow (an AI Search
// instance): aiflow only checks that it exists, never creates or deletes it.
func (r *resource) external() bool { return r.attrs["external"] == true }

// realState is what a backend reports about a resource.
type realState struct {
	exists bool
	id     string
	attrs  map[string]any // only the attributes the backend knows
	info   string
}

// kindImpl is one resource kind's behaviour.
type kindImpl interface {
	// desired fills r.backend, r.attrs and r.force from r.settings.
	desired(e *env, r *resource) error
	// refresh reads the real state; st is the recorded state, or nil.
	refresh(ctx context.Context, e *env, r *resource, st *store.ResourceState) (realState, error)
	// apply creates (also for replace, after the old one is destroyed), adopts or updates
	// the resource and returns its backend id.
	apply(ctx context.Context, e *env, c *Change) (string, error)
	// destroy removes what st recorded.
	destroy(ctx context.Context, e *env, st store.ResourceState) error
}

var kinds = map[string]kindImpl{
	"vector-index": vectorIndexKind{},
	"database":     databaseKind{},
	"ai-gateway":   gatewayKind{},
	"prompt":       promptKind{},
	"bucket":       bucketKind{},
}

// resource evaluates a declared resource.
func (e *env) resource(rn *engine.ResourceNode) (*resource, error) {
	k, ok := kinds[rn.Spec.Kind]
	if !ok {
		return nil, fmt.Errorf("resource kind %q cannot be applied", rn.Spec.Kind)
	}
	s, err := e.settings(rn)
	if err != nil {
		return nil, err
	}
	r := &resource{name: rn.Spec.Name, kind: rn.Spec.Kind, settings: s, attrs: map[string]any{}, k: k}
	if err := k.desired(e, r); err != nil {
		return nil, err
	}
	for key, v := range r.attrs {
		r.attrs[key] = norm(v)
	}
	return r, nil
}

// stateOf looks up this flow's recorded state of name, nil when there is none.
func (e *env) stateOf(ctx context.Context, name string) (*store.ResourceState, error) {
	if e.st == nil {
		return nil, nil
	}
	s, err := e.st.GetResource(ctx, e.key, name)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return &s, nil
}
