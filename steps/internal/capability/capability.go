// Package capability finds the capability a model step needs on the provider the engine
// routed the call to, with an error that names the model when the provider lacks it.
package capability

import (
	"fmt"

	"github.com/aiflow/aiflow/providers"
	"github.com/aiflow/aiflow/steps"
)

// Of returns m's provider as capability C (providers.Embedder, providers.Generator, …).
// It fails when m is nil or its provider does not implement C.
func Of[C any](m *steps.Model, task providers.Task) (C, error) {
	var zero C
	if m == nil || m.Provider == nil {
		return zero, fmt.Errorf("no model to %s with: set model: or route: on the step", task)
	}
	c, ok := m.Provider.(C)
	if !ok {
		return zero, fmt.Errorf("model %s (provider kind %s) does not serve %s", m.Ref(), m.Provider.Kind(), task)
	}
	return c, nil
}

// Gateway returns m's per-step gateway options, or nil.
func Gateway(m *steps.Model) *providers.GatewayOptions {
	if m == nil {
		return nil
	}
	return m.Gateway
}
