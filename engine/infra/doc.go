// Package infra converges the resources a flow declares (vector indexes, databases, AI
// gateways, stored prompts) the way Terraform does: Plan evaluates each resource's
// settings, refreshes its real state from the backend, compares desired, recorded and
// real state and yields an action per resource; Apply carries a plan out and records
// what it did in the state store; Destroy removes what the flow created.
//
// Actions are create (+), adopt (+, the resource exists but is not in state: apply only
// records it), update in place (~), replace (-/+, a change the backend cannot make in
// place, such as a vector index's dimensions or metric), destroy (-, in state for this
// flow but no longer declared) and no-op. Drift is real state that differs from the
// recorded state: something changed it outside aiflow.
//
// The package reaches backends only through the providers registries
// (LookupIndexBackend, LookupDatabaseBackend, LookupGatewayAdmin); it never imports a
// concrete backend. Apply and Destroy hold the state lock (store.Lock) for their whole
// run, so two of them on one state directory never interleave.
package infra
