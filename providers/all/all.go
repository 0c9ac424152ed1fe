// Package all registers every built-in provider and vector-index backend; only cmd/aiflow
// imports it.
package all
