// Package steptest holds fakes for testing step kinds without the engine: an Env with
// in-memory vector indexes and recorded events, and providers that serve exactly one
// capability each, so a test can also hand a step a provider that lacks the one it needs.
package steptest

import (
	"context"
	"fmt"
	"sync"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

// Env is a steps.Env for tests. Indexes and Embedders are keyed by resource name; set
// them before the step runs. Events records every Emit. It is safe for concurrent use.
type Env struct {
	Indexes   map[string]*Index
	Embedders map[string]*steps.Model
	// Invokers serve Env.Invoke by step kind; Flows serve RunFlow by path; Models serve Model.
	Invokers map[string]func(ctx context.Context, inputs map[string]any, model string) (steps.Result, error)
	Flows    map[string]func(ctx context.Context, vars map[string]any) (map[string]any, error)
	Models   map[string]*steps.Model

	mu     sync.Mutex
	events []steps.Event
	turns  []steps.Turn
}

var _ steps.Env = (*Env)(nil)

// VectorIndex returns the index named name with a spec carrying its dimensions.
func (e *Env) VectorIndex(_ context.Context, name string) (providers.VectorIndex, providers.IndexSpec, error) {
	idx, ok := e.Indexes[name]
	if !ok {
		return nil, providers.IndexSpec{}, fmt.Errorf("%q is not a vector-index resource", name)
	}
	return idx, providers.IndexSpec{Name: name, Backend: "test", Dimensions: idx.Dimensions, Metric: "cosine"}, nil
}

// IndexEmbedder returns the embedder registered for the resource name.
func (e *Env) IndexEmbedder(_ context.Context, name string) (*steps.Model, error) {
	m, ok := e.Embedders[name]
	if !ok {
		return nil, fmt.Errorf("unknown resource %q", name)
	}
	return m, nil
}

// Emit records ev.
func (e *Env) Emit(ev steps.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, ev)
}

// Events returns a copy of what was emitted so far.
func (e *Env) Events() []steps.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]steps.Event(nil), e.events...)
}

// Turns returns a copy of the turns recorded so far.
func (e *Env) Turns() []steps.Turn {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]steps.Turn(nil), e.turns...)
}

// RecordTurn records t.
func (e *Env) RecordTurn(_ context.Context, t steps.Turn) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.turns = append(e.turns, t)
	return nil
}

// Invoke runs the step kind registered in Kinds under uses, with inputs as given.
func (e *Env) Invoke(ctx context.Context, uses string, inputs map[string]any, model string) (steps.Result, error) {
	run, ok := e.Invokers[uses]
	if !ok {
		return steps.Result{}, fmt.Errorf("steptest: no invoker for step kind %q", uses)
	}
	return run(ctx, inputs, model)
}

// RunFlow runs the sub-flow registered in Flows under path.
func (e *Env) RunFlow(ctx context.Context, path string, vars map[string]any) (map[string]any, error) {
	run, ok := e.Flows[path]
	if !ok {
		return nil, fmt.Errorf("steptest: no sub-flow %q", path)
	}
	return run(ctx, vars)
}

// Model resolves ref from Models.
func (e *Env) Model(_ context.Context, ref string) (*steps.Model, error) {
	m, ok := e.Models[ref]
	if !ok {
		return nil, fmt.Errorf("steptest: unknown model %q", ref)
	}
	return m, nil
}

// Model wraps p as a routed model "test:<id>".
func Model(p providers.Provider, id string) *steps.Model {
	return &steps.Model{ProviderName: "test", ProviderKind: p.Kind(), ID: id, Provider: p}
}
